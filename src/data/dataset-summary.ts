import { classNames, labelOf, readAnnotations, type ClipAnnotation, type LabelKind } from './annotations.js';
import { classGroups, countPerClass, meanCount, type ClassGroups } from './class-groups.js';
import { parseSubjects, splitBySubject } from './splits.js';

export interface SplitSummary {
  split: string;
  clips: number;
  subjects: string[];
  perClass: number[];
  groupMeans: { majority: number; minority: number };
}

export interface DatasetSummary {
  annotations: string;
  label: LabelKind;
  classes: string[];
  validationSubjects: string[];
  groups: ClassGroups & { majorityNames: string[]; minorityNames: string[] };
  splits: SplitSummary[];
  warnings: string[];
}

export interface SummaryOptions {
  label: LabelKind;
  validationSubjects: string;
  majorityCount: number;
}

/** The four splits (training file, training after the validation carve-out, validation, test) with class counts and groups. */
export async function summarizeDataset(dir: string, options: SummaryOptions): Promise<DatasetSummary> {
  const set = await readAnnotations(dir);
  const names = classNames(set, options.label);
  const subjects = parseSubjects(options.validationSubjects);
  const { train, validation } = splitBySubject(set.train, subjects);
  const counts = (clips: ClipAnnotation[]) =>
    countPerClass(
      clips.map((c) => labelOf(c, options.label)),
      names.length,
    );
  const groups = classGroups(counts(set.train), options.majorityCount);
  const summary = (split: string, clips: ClipAnnotation[]): SplitSummary => {
    const perClass = counts(clips);
    return {
      split,
      clips: clips.length,
      subjects: [...new Set(clips.map((c) => c.subject))].sort(),
      perClass,
      groupMeans: { majority: meanCount(perClass, groups.majority), minority: meanCount(perClass, groups.minority) },
    };
  };
  return {
    annotations: dir,
    label: options.label,
    classes: names,
    validationSubjects: [...subjects],
    groups: { ...groups, majorityNames: groups.majority.map((c) => names[c]!), minorityNames: groups.minority.map((c) => names[c]!) },
    splits: [summary('train file', set.train), summary('train', train), summary('validation', validation), summary('test', set.test)],
    warnings: set.warnings,
  };
}
