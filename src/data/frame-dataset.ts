import path from 'node:path';
import { UserError } from '../util/errors.js';
import { classNames, LABEL_KINDS, labelOf, readAnnotations, SPLIT_FILES, type ClipAnnotation, type LabelKind } from './annotations.js';
import type { ClipRecord } from './clip-loader.js';
import { clipFrameDir, MANIFEST_FILE } from './frame-layout.js';
import { readManifest } from './manifest.js';
import { parseSubjects, splitBySubject } from './splits.js';

export interface FrameDataset {
  classes: string[];
  train: ClipRecord[];
  validation: ClipRecord[];
  test: ClipRecord[];
  /** Annotated clips without finished frames (failed or never prepared), left out. */
  missing: { clip: string; annotation: string; reason: string }[];
}

/** Refuses a label that gives the training clips fewer than two classes: there is nothing to tell apart. */
function checkTrainable(train: ClipAnnotation[], label: LabelKind, file: string): void {
  const present = new Set(train.map((clip) => labelOf(clip, label)));
  if (present.size >= 2) return;
  const others = LABEL_KINDS.filter((kind) => kind !== label && new Set(train.map((clip) => labelOf(clip, kind))).size >= 2);
  throw new UserError(
    `${file}: label '${label}' has ${present.size === 1 ? 'one class' : 'no classes'} in its ${train.length} training clips, and a classifier needs at least two to learn anything` +
      (others.length > 0 ? `; use label ${others.map((k) => `'${k}'`).join(' or ')} (synth data, for one, has verbs only)` : ''),
  );
}

/**
 * The prepared frames of an EGTEA-style dataset, split into training, validation (by subject)
 * and test, with labels of the chosen kind. Clips that `prepare` did not finish are left out
 * and listed, never silently.
 */
export async function loadFrameDataset(options: { annotations: string; frames: string; label: LabelKind; validationSubjects: string }): Promise<FrameDataset> {
  const set = await readAnnotations(options.annotations);
  const manifestFile = path.join(options.frames, MANIFEST_FILE);
  const manifest = await readManifest(manifestFile);
  if (manifest.size === 0) throw new UserError(`${manifestFile}: no prepared clips; run egtea prepare first`);
  const missing: FrameDataset['missing'] = [];
  const toRecords = (clips: ClipAnnotation[]): ClipRecord[] =>
    clips.flatMap((clip) => {
      const record = manifest.get(clip.clip);
      if (record?.status !== 'done') {
        missing.push({ clip: clip.clip, annotation: `${clip.file}:${clip.line}`, reason: record?.reason ?? 'not prepared' });
        return [];
      }
      return [
        {
          clip: clip.clip,
          frameDir: clipFrameDir(options.frames, clip),
          frameCount: record.frames!,
          label: labelOf(clip, options.label),
          width: record.width,
          height: record.height,
        },
      ];
    });
  const classes = classNames(set, options.label);
  checkTrainable(set.train, options.label, set.train[0]?.file ?? path.join(options.annotations, SPLIT_FILES.train));
  const { train, validation } = splitBySubject(set.train, parseSubjects(options.validationSubjects));
  return { classes, train: toRecords(train), validation: toRecords(validation), test: toRecords(set.test), missing };
}
