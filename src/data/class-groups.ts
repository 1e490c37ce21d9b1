/** Majority = the k most frequent classes of the training file; minority = the rest. */
export interface ClassGroups {
  majority: number[];
  minority: number[];
}

export function countPerClass(labels: readonly number[], numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const label of labels) counts[label]! += 1;
  return counts;
}

/** Ties break towards the lower class index, so the groups never depend on sort stability. */
export function classGroups(trainingCounts: readonly number[], majorityCount = 5): ClassGroups {
  if (majorityCount < 0 || majorityCount > trainingCounts.length) {
    throw new Error(`the majority group needs between 0 and ${trainingCounts.length} classes, not ${majorityCount}`);
  }
  const order = trainingCounts.map((n, c) => [n, c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const majority = order
    .slice(0, majorityCount)
    .map(([, c]) => c)
    .sort((a, b) => a - b);
  const minority = order
    .slice(majorityCount)
    .map(([, c]) => c)
    .sort((a, b) => a - b);
  return { majority, minority };
}

export function meanCount(counts: readonly number[], classes: readonly number[]): number {
  return classes.length === 0 ? 0 : classes.reduce((sum, c) => sum + counts[c]!, 0) / classes.length;
}

/** The class groups reports can show: the paper's majority/minority, and the long-tail field's many/medium/few-shot. */
export const GROUP_NAMES = ['majority', 'minority', 'many', 'medium', 'few'] as const;
export type GroupName = (typeof GROUP_NAMES)[number];

/** Many-shot: more than `many` training samples; few-shot: fewer than `few`; medium: the rest (few to many, inclusive). */
export interface ShotThresholds {
  many: number;
  few: number;
}

/** The long-tail papers' convention (Liu et al., CVPR 2019, and those after): many > 100, medium 20-100, few < 20. */
export const SHOT_THRESHOLDS: ShotThresholds = { many: 100, few: 20 };

/** A group's classes and the rule that chose them, as tables state it. */
export interface ClassGroup {
  classes: number[];
  rule: string;
}

export function checkShotThresholds(thresholds: ShotThresholds): void {
  const { many, few } = thresholds;
  if (!(Number.isInteger(many) && Number.isInteger(few) && few >= 0 && few <= many + 1)) {
    throw new Error(`shot thresholds many ${many}, few ${few}: give whole numbers with 0 <= few <= many + 1 (many-shot: > many samples, few-shot: < few)`);
  }
}

/** Every group of a run: majority/minority as training chose them, many/medium/few from the training counts. */
export function groupDefinitions(
  trainingCounts: readonly number[],
  paper: ClassGroups,
  thresholds: ShotThresholds = SHOT_THRESHOLDS,
): Record<GroupName, ClassGroup> {
  checkShotThresholds(thresholds);
  const { many, few } = thresholds;
  const classes = trainingCounts.map((_, c) => c);
  return {
    majority: {
      classes: paper.majority,
      rule: paper.majority.length === 1 ? 'the most frequent training class' : `the ${paper.majority.length} most frequent training classes`,
    },
    minority: { classes: paper.minority, rule: 'the other classes' },
    many: { classes: classes.filter((c) => trainingCounts[c]! > many), rule: `> ${many} training samples` },
    medium: { classes: classes.filter((c) => trainingCounts[c]! >= few && trainingCounts[c]! <= many), rule: `${few}-${many} training samples` },
    few: { classes: classes.filter((c) => trainingCounts[c]! < few), rule: `< ${few} training samples` },
  };
}
