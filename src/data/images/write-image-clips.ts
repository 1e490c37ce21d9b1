import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { removeLeftTemporaries, writeFileAtomic } from '../../util/files.js';
import { clipFrameDir, frameFile, MANIFEST_FILE } from '../frame-layout.js';
import type { ManifestRecord } from '../manifest.js';
import { SPLIT_FILES } from '../annotations.js';
import { imageAt, type ImageSet } from './image-set.js';
import type { ImageSplits, Pick } from './imbalanced-splits.js';

/** The subjects that carry the splits in clip names; validation is carved out by subject, as for EGTEA. */
export const IMAGE_SUBJECTS = { train: 'T01', validation: 'V01', test: 'E01' } as const;

/** The folders a dataset root holds, as `egtea prepare` leaves them. */
const LAYOUT = { annotations: 'annotations', frames: 'frames' } as const;

/**
 * A pipeline's `dataset` block for image clips written under <data root>/<folder>: this
 * layout, one class per verb label, validation carved out by its subject.
 */
export function imageClipDataset(folder: string, { majorityClasses }: { majorityClasses: number }) {
  return {
    annotations: `${folder}/${LAYOUT.annotations}`,
    frames: `${folder}/${LAYOUT.frames}`,
    label: 'verb' as const,
    validationSubjects: IMAGE_SUBJECTS.validation,
    majorityClasses,
  };
}

export interface ImageClipSummary {
  root: string;
  classes: string[];
  counts: { train: number[]; validation: number[]; test: number[] };
  written: number;
  skipped: number;
}

/** One image to become a one-frame clip: where it goes and how its frame file is made. */
export interface ImageClip {
  part: keyof typeof IMAGE_SUBJECTS;
  /** Unique within its part: the index in the source split. */
  index: number;
  label: number;
  width?: number;
  height?: number;
  /** Writes the frame file (whole, or not at all). */
  write: (file: string) => Promise<void>;
}

/** Pixel images of an ImageSet as clips: RGB JPEGs, quality 95, no chroma subsampling (grey becomes RGB: the loader reads RGB). */
export function pixelClips(sources: { train: ImageSet; test: ImageSet }, splits: ImageSplits): ImageClip[] {
  const clip = (part: ImageClip['part'], pick: Pick, set: ImageSet): ImageClip => ({
    part,
    index: pick.index,
    label: pick.label,
    width: set.width,
    height: set.height,
    write: async (file) => {
      const raw = sharp(Buffer.from(imageAt(set, pick.index)), { raw: { width: set.width, height: set.height, channels: set.channels } });
      await writeFileAtomic(file, await (set.channels === 1 ? raw.toColourspace('srgb') : raw).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer());
    },
  });
  return [
    ...splits.train.map((pick) => clip('train', pick, sources.train)),
    ...splits.validation.map((pick) => clip('validation', pick, sources.train)),
    ...splits.test.map((pick) => clip('test', pick, sources.test)),
  ];
}

/**
 * Writes images as one-frame clips in the layout `egtea prepare` leaves: annotations/ (split
 * files and verb_idx.txt, one class per image label) and frames/<session>/<clip>/img_00001.jpg
 * with frames/manifest.jsonl, so image datasets train through the same pipeline as video. A
 * rerun skips frames already there; the index, split files and manifest are written last.
 */
export async function writeImageClips(
  root: string,
  recipe: string,
  classes: string[],
  clips: ImageClip[],
  log: (line: string) => void = () => {},
  onImage?: (written: boolean, total: number) => void,
): Promise<ImageClipSummary> {
  const annotations = path.join(root, LAYOUT.annotations);
  const frames = path.join(root, LAYOUT.frames);
  await fs.mkdir(annotations, { recursive: true });
  await fs.mkdir(frames, { recursive: true });
  const limit = pLimit(8);
  const lines = { train: [] as string[], test: [] as string[] };
  const manifest: ManifestRecord[] = [];
  const zeros = () => new Array<number>(classes.length).fill(0);
  const summary: ImageClipSummary = { root, classes, counts: { train: zeros(), validation: zeros(), test: zeros() }, written: 0, skipped: 0 };
  let done = 0;
  // The first failure (a full disk) skips the writes not yet started; those under way finish
  // (and clean up) before it is thrown, so nothing writes after the call returns.
  const failures: unknown[] = [];
  await Promise.all(
    clips.map((image) =>
      limit(async () => {
        if (failures.length > 0) return;
        const session = `${IMAGE_SUBJECTS[image.part]}-R01-${recipe}`;
        const clip = `${session}-${image.index}-${image.index}-F${image.index}-F${image.index}`;
        const dir = clipFrameDir(frames, { session, clip });
        const file = frameFile(dir, 0);
        const there = await fs.stat(file).then(
          (s) => s.size > 0,
          () => false,
        );
        if (there) {
          summary.skipped += 1;
        } else {
          await fs.mkdir(dir, { recursive: true });
          await removeLeftTemporaries(file);
          await image.write(file);
          summary.written += 1;
        }
        onImage?.(!there, clips.length);
        const id = image.label + 1;
        (image.part === 'test' ? lines.test : lines.train).push(`${clip} ${id} ${id} ${id}`);
        const annotation = path.join(annotations, image.part === 'test' ? SPLIT_FILES.test : SPLIT_FILES.train);
        manifest.push({
          clip,
          session,
          status: 'done',
          frames: 1,
          ...(image.width ? { width: image.width, height: image.height } : {}),
          source: null,
          annotation,
          at: new Date().toISOString(),
        });
        summary.counts[image.part][image.label]! += 1;
        done += 1;
        if (done % 2000 === 0 || done === clips.length) log(`images: ${done}/${clips.length} (${summary.written} written, ${summary.skipped} already there)`);
      }).catch((error: unknown) => {
        failures.push(error);
      }),
    ),
  );
  if (failures.length > 0) throw failures[0];
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  await writeFileAtomic(
    path.join(frames, MANIFEST_FILE),
    manifest
      .sort((a, b) => byName(a.clip, b.clip))
      .map((r) => `${JSON.stringify(r)}\n`)
      .join(''),
  );
  await writeFileAtomic(path.join(annotations, 'verb_idx.txt'), classes.map((name, i) => `${name} ${i + 1}\n`).join(''));
  await writeFileAtomic(path.join(annotations, SPLIT_FILES.train), `${lines.train.sort(byName).join('\n')}\n`);
  await writeFileAtomic(path.join(annotations, SPLIT_FILES.test), `${lines.test.sort(byName).join('\n')}\n`);
  return summary;
}
