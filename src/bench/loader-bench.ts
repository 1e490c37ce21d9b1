import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ClipLoader, type ClipRecord } from '../data/clip-loader.js';
import { readAnnotations } from '../data/annotations.js';
import { DEFAULT_TRANSFORM } from '../data/transforms.js';
import { UserError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import { clipFrameDir, MANIFEST_FILE } from '../data/frame-layout.js';
import { readManifest } from '../data/manifest.js';
import { prepareFrames } from '../video/prepare.js';
import { DEFAULT_FRAME_OPTIONS } from '../video/extract-frames.js';
import { benchDataset } from './bench-data.js';
import { referencePython } from '../util/environment.js';

export interface LoaderBenchResult {
  clips: number;
  cores: number;
  egteaClipsPerSecond: number;
  pilSingleProcessClipsPerSecond: number;
  pilAllCoresClipsPerSecond: number;
  ratioToSingleProcess: number;
  ratioToAllCores: number;
  goal: number;
  met: boolean;
}

/**
 * Training clips per second (10 frames, 224x224, augmented, normalised) of egtea's loader in
 * one process, against a Python/PIL loader doing the same work on the same frames, in one
 * process and with a process per core.
 */
export async function runLoaderBench(options: { root: string; clips: number; concurrency: number }): Promise<LoaderBenchResult> {
  const { videos, annotations } = await benchDataset(options.root, options.clips);
  const frames = path.join(options.root, `bench-frames-${options.clips}`);
  await prepareFrames({ videos, annotations, out: frames, frames: DEFAULT_FRAME_OPTIONS, jobs: os.availableParallelism() });
  const manifest = await readManifest(path.join(frames, MANIFEST_FILE));
  const set = await readAnnotations(annotations);
  const records: ClipRecord[] = [...set.train, ...set.test].map((clip) => {
    const done = manifest.get(clip.clip)!;
    return { clip: clip.clip, frameDir: clipFrameDir(frames, clip), frameCount: done.frames!, label: clip.verb, width: done.width, height: done.height };
  });

  const python = referencePython();
  const script = path.join(projectRoot(), 'bench', 'loader', 'reference.py');
  const input = JSON.stringify(records.map((r) => [r.frameDir, r.frameCount]));
  const reference = spawnSync(python, [script], { input, encoding: 'utf8' });
  if (reference.status !== 0) {
    const hint = /No module named/.test(reference.stderr) ? ' (the reference needs Pillow and NumPy: pip install pillow numpy)' : '';
    throw new UserError(`the PIL reference failed${hint}:\n${reference.stderr.slice(-1500)}`);
  }
  const pil = JSON.parse(reference.stdout.trim().split('\n').pop()!) as { singleProcessClipsPerSecond: number; allCoresClipsPerSecond: number };

  const loader = new ClipLoader(records, {
    batchSize: 8,
    segments: 10,
    training: true,
    transform: DEFAULT_TRANSFORM,
    seed: 1,
    concurrency: options.concurrency,
    prefetch: 2,
  });
  for await (const _ of loader.batches(0)) break; // warm-up: first sharp and kernel calls
  const start = performance.now();
  let clips = 0;
  for await (const batch of loader.batches(1)) clips += batch.labels.size;
  const egtea = clips / ((performance.now() - start) / 1000);
  const ratio = egtea / pil.singleProcessClipsPerSecond;
  return {
    clips,
    cores: os.availableParallelism(),
    egteaClipsPerSecond: egtea,
    pilSingleProcessClipsPerSecond: pil.singleProcessClipsPerSecond,
    pilAllCoresClipsPerSecond: pil.allCoresClipsPerSecond,
    ratioToSingleProcess: ratio,
    ratioToAllCores: egtea / pil.allCoresClipsPerSecond,
    goal: 2,
    met: ratio >= 2,
  };
}
