import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { writeFileAtomic } from '../../util/files.js';
import type { ManifestRecord } from '../../video/manifest.js';
import { MANIFEST_FILE } from '../../video/manifest.js';
import { clipFrameDir } from '../../video/prepare.js';
import { SPLIT_FILES } from '../annotations.js';
import { frameFile } from '../clip-loader.js';
import { imageAt, type ImageSet } from './image-set.js';
import type { ImageSplits, Pick } from './imbalanced-splits.js';

/** The subjects that carry the splits in clip names; validation is carved out by subject, as for EGTEA. */
export const IMAGE_SUBJECTS = { train: 'T01', validation: 'V01', test: 'E01' } as const;

export interface ImageClipSummary {
  root: string;
  classes: string[];
  counts: { train: number[]; validation: number[]; test: number[] };
  written: number;
  skipped: number;
}

/**
 * Writes images as one-frame clips in the layout `egtea prepare` leaves: annotations/ (split
 * files and verb_idx.txt, one class per image label) and frames/<session>/<clip>/img_00001.jpg
 * with frames/manifest.jsonl, so image datasets train through the same pipeline as video.
 * Grey images are written as RGB (the loader reads RGB); JPEG quality 95 without chroma
 * subsampling. Each frame is renamed into place when whole, and a rerun skips finished frames.
 */
export async function writeImageClips(
  root: string,
  recipe: string,
  sources: { train: ImageSet; test: ImageSet },
  splits: ImageSplits,
  log: (line: string) => void = () => {},
): Promise<ImageClipSummary> {
  const annotations = path.join(root, 'annotations');
  const frames = path.join(root, 'frames');
  await fs.mkdir(annotations, { recursive: true });
  await fs.mkdir(frames, { recursive: true });
  const jobs: { part: keyof typeof IMAGE_SUBJECTS; pick: Pick; set: ImageSet }[] = [
    ...splits.train.map((pick) => ({ part: 'train' as const, pick, set: sources.train })),
    ...splits.validation.map((pick) => ({ part: 'validation' as const, pick, set: sources.train })),
    ...splits.test.map((pick) => ({ part: 'test' as const, pick, set: sources.test })),
  ];
  const limit = pLimit(8);
  const lines = { train: [] as string[], test: [] as string[] };
  const manifest: ManifestRecord[] = [];
  const summary: ImageClipSummary = {
    root,
    classes: splits.classes,
    counts: { train: new Array<number>(splits.classes.length).fill(0), validation: new Array<number>(splits.classes.length).fill(0), test: new Array<number>(splits.classes.length).fill(0) },
    written: 0,
    skipped: 0,
  };
  let done = 0;
  await Promise.all(
    jobs.map(({ part, pick, set }) =>
      limit(async () => {
        const subject = IMAGE_SUBJECTS[part];
        const session = `${subject}-R01-${recipe}`;
        const clip = `${session}-${pick.index}-${pick.index}-F${pick.index}-F${pick.index}`;
        const dir = clipFrameDir(frames, { session, clip });
        const file = frameFile(dir, 0);
        const exists = await fs.stat(file).then((s) => s.size > 0, () => false);
        if (exists) {
          summary.skipped += 1;
        } else {
          await fs.mkdir(dir, { recursive: true });
          const raw = sharp(Buffer.from(imageAt(set, pick.index)), { raw: { width: set.width, height: set.height, channels: set.channels } });
          const jpeg = await (set.channels === 1 ? raw.toColourspace('srgb') : raw).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
          await writeFileAtomic(file, jpeg);
          summary.written += 1;
        }
        const id = pick.label + 1;
        (part === 'test' ? lines.test : lines.train).push(`${clip} ${id} ${id} ${id}`);
        const annotation = path.join(annotations, part === 'test' ? SPLIT_FILES.test : SPLIT_FILES.train);
        manifest.push({ clip, session, status: 'done', frames: 1, width: set.width, height: set.height, source: null, annotation, at: new Date().toISOString() });
        summary.counts[part][pick.label]! += 1;
        done += 1;
        if (done % 2000 === 0 || done === jobs.length) log(`images: ${done}/${jobs.length} (${summary.written} written, ${summary.skipped} already there)`);
      }),
    ),
  );
  // The index and the split files last: a dataset is readable only once all its frames are there.
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  await writeFileAtomic(path.join(frames, MANIFEST_FILE), manifest.sort((a, b) => byName(a.clip, b.clip)).map((r) => `${JSON.stringify(r)}\n`).join(''));
  await writeFileAtomic(path.join(annotations, 'verb_idx.txt'), splits.classes.map((name, i) => `${name} ${i + 1}\n`).join(''));
  await writeFileAtomic(path.join(annotations, SPLIT_FILES.train), `${lines.train.sort(byName).join('\n')}\n`);
  await writeFileAtomic(path.join(annotations, SPLIT_FILES.test), `${lines.test.sort(byName).join('\n')}\n`);
  return summary;
}
