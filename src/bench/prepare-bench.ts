import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { readAnnotations } from '../data/annotations.js';
import { DEFAULT_FRAME_OPTIONS, frameOutputOptions } from '../video/extract-frames.js';
import { ffmpegBinaries } from '../video/ffmpeg-binaries.js';
import { clipVideoPath, FRAME_FILE_PATTERN } from '../data/frame-layout.js';
import { prepareFrames } from '../video/prepare.js';
import { benchDataset } from './bench-data.js';

export interface PrepareBenchResult {
  clips: number;
  frames: number;
  jobs: number;
  egteaFramesPerSecond: number;
  ffmpegFramesPerSecond: number;
  ratio: number;
  goal: number;
  met: boolean;
}

function runFfmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegBinaries().ffmpeg, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}`))));
  });
}

/** `egtea prepare` against the bare ffmpeg command with the same settings and parallelism, over the same clips. */
export async function runPrepareBench(options: { root: string; clips: number; jobs: number }): Promise<PrepareBenchResult> {
  const { videos, annotations } = await benchDataset(options.root, options.clips);
  const set = await readAnnotations(annotations);
  const clips = [...set.train, ...set.test];
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-bench-prepare-'));
  try {
    // Both sides read the videos from the page cache, not one from disk.
    for (const clip of clips) await fs.readFile(clipVideoPath(videos, clip));
    // The reference: ffmpeg alone, one process per clip, `jobs` at a time.
    const bare = path.join(scratch, 'ffmpeg');
    const limit = pLimit(options.jobs);
    let start = performance.now();
    await Promise.all(
      clips.map((clip, i) =>
        limit(async () => {
          const dir = path.join(bare, String(i));
          await fs.mkdir(dir, { recursive: true });
          await runFfmpeg([
            '-nostdin',
            '-threads',
            '1',
            '-i',
            clipVideoPath(videos, clip),
            ...frameOutputOptions(DEFAULT_FRAME_OPTIONS),
            path.join(dir, FRAME_FILE_PATTERN),
          ]);
        }),
      ),
    );
    const ffmpegSeconds = (performance.now() - start) / 1000;
    start = performance.now();
    const summary = await prepareFrames({ videos, annotations, out: path.join(scratch, 'egtea'), frames: DEFAULT_FRAME_OPTIONS, jobs: options.jobs });
    const egteaSeconds = (performance.now() - start) / 1000;
    const ffmpegFramesPerSecond = summary.frames / ffmpegSeconds;
    const egteaFramesPerSecond = summary.frames / egteaSeconds;
    const ratio = egteaFramesPerSecond / ffmpegFramesPerSecond;
    return {
      clips: clips.length,
      frames: summary.frames,
      jobs: options.jobs,
      egteaFramesPerSecond,
      ffmpegFramesPerSecond,
      ratio,
      goal: 0.9,
      met: ratio >= 0.9,
    };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
