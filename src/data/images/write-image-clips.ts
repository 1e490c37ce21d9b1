import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { loadKernels } from '../../engine/kernels.js';
import { removeLeftTemporaries, temporarySuffix, writeFileAtomic } from '../../util/files.js';
import { clipFrameDir, frameFile, MANIFEST_FILE } from '../frame-layout.js';
import type { ManifestRecord } from '../manifest.js';
import { SPLIT_FILES } from '../annotations.js';
import { imageAt, type ImageSet } from './image-set.js';
import type { ImageSplits, Pick } from './imbalanced-splits.js';

/** The subjects that carry the splits in clip names; validation is carved out by subject, as for EGTEA. */
export const IMAGE_SUBJECTS = { train: 'T01', validation: 'V01', test: 'E01' } as const;

/** The folders a dataset root holds, as `egtea prepare` leaves them. */
const LAYOUT = { annotations: 'annotations', frames: 'frames' } as const;

/** Images per native write job: enough that a job's hand-off costs nothing beside it, few enough for steady progress. */
const NATIVE_JOB_IMAGES = 256;

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
  /** The image's pixels (width x height x channels, row by row), when it has them: written as `write` would, many in one native job. */
  pixels?: { data: Uint8Array; channels: 1 | 3 };
}

/** JPEG quality of written frames (4:4:4, no chroma subsampling: small images keep their colour edges). */
const JPEG_QUALITY = 95;

/** Pixel images of an ImageSet as clips: RGB JPEGs, no chroma subsampling (grey becomes RGB: the loader reads RGB). */
export function pixelClips(sources: { train: ImageSet; test: ImageSet }, splits: ImageSplits): ImageClip[] {
  const clip = (part: ImageClip['part'], pick: Pick, set: ImageSet): ImageClip => ({
    part,
    index: pick.index,
    label: pick.label,
    width: set.width,
    height: set.height,
    write: async (file) => {
      const raw = sharp(Buffer.from(imageAt(set, pick.index)), { raw: { width: set.width, height: set.height, channels: set.channels } });
      await writeFileAtomic(
        file,
        await (set.channels === 1 ? raw.toColourspace('srgb') : raw).jpeg({ quality: JPEG_QUALITY, chromaSubsampling: '4:4:4' }).toBuffer(),
      );
    },
    ...(set.channels === 1 || set.channels === 3 ? { pixels: { data: imageAt(set, pick.index), channels: set.channels } } : {}),
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
  const lines = { train: [] as string[], test: [] as string[] };
  const manifest: ManifestRecord[] = [];
  const zeros = () => new Array<number>(classes.length).fill(0);
  const summary: ImageClipSummary = { root, classes, counts: { train: zeros(), validation: zeros(), test: zeros() }, written: 0, skipped: 0 };
  let done = 0;
  const planned = clips.map((image) => {
    const session = `${IMAGE_SUBJECTS[image.part]}-R01-${recipe}`;
    const clip = `${session}-${image.index}-${image.index}-F${image.index}-F${image.index}`;
    return { image, session, clip, file: frameFile(clipFrameDir(frames, { session, clip }), 0) };
  });
  type Planned = (typeof planned)[number];
  const record = ({ image, session, clip }: Planned, written: boolean) => {
    summary[written ? 'written' : 'skipped'] += 1;
    onImage?.(written, clips.length);
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
  };
  // Images with pixels go to libjpeg-turbo a few hundred per job (sharp's set-up per call costs
  // more than encoding a small image); the others are written one by one.
  const writeJpegFrames = loadKernels()?.writeJpegFrames;
  const native = writeJpegFrames ? planned.filter((p) => p.image.pixels) : [];
  const oneByOne = writeJpegFrames ? planned.filter((p) => !p.image.pixels) : planned;
  const jobs: Planned[][] = [];
  for (let i = 0; i < native.length; i += NATIVE_JOB_IMAGES) jobs.push(native.slice(i, i + NATIVE_JOB_IMAGES));
  // The first failure (a full disk) skips the writes not yet started; those under way finish
  // (and clean up) before it is thrown, so nothing writes after the call returns.
  const failures: unknown[] = [];
  const onFailure = (error: unknown) => {
    failures.push(error);
  };
  const nativeLimit = pLimit(os.availableParallelism());
  const limit = pLimit(8);
  await Promise.all([
    ...jobs.map((job) =>
      nativeLimit(async () => {
        if (failures.length > 0) return;
        const header = new Int32Array(1 + 3 * job.length);
        header[0] = JPEG_QUALITY;
        job.forEach(({ image }, i) => header.set([image.width!, image.height!, image.pixels!.channels], 1 + 3 * i));
        const written = await writeJpegFrames!(
          job.map((p) => p.file),
          job.map((p) => p.image.pixels!.data),
          header,
          temporarySuffix(),
        );
        job.forEach((p, i) => record(p, written[i] === 1));
      }).catch(onFailure),
    ),
    ...oneByOne.map((p) =>
      limit(async () => {
        if (failures.length > 0) return;
        const there = await fs.stat(p.file).then(
          (s) => s.size > 0,
          () => false,
        );
        if (!there) {
          await fs.mkdir(path.dirname(p.file), { recursive: true });
          await removeLeftTemporaries(p.file);
          await p.image.write(p.file);
        }
        record(p, !there);
      }).catch(onFailure),
    ),
  ]);
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
