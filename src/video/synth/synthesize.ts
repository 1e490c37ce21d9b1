import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { SPLIT_FILES } from '../../data/annotations.js';
import { clipVideoPath } from '../../data/frame-layout.js';
import { pathExists, writeFileAtomic } from '../../util/files.js';
import { Progress } from '../../util/progress.js';
import { SeededRandom } from '../../util/random.js';
import { encodeH264 } from './encode.js';
import { CLASS_PATTERNS } from './patterns.js';
import { planSyntheticDataset, type PlannedClip } from './plan.js';
import { renderClip } from './render.js';

/** The defaults of `egtea synth` (and of the demo): 400 clips of 640x480 at 24 fps, 1.5 to 3.5 s. */
export const SYNTH_DEFAULTS = { clips: 400, seed: 1, width: 640, height: 480, fps: 24, seconds: [1.5, 3.5] as [number, number] };

export interface SynthOptions {
  out: string;
  clips: number;
  seed: number;
  width: number;
  height: number;
  fps: number;
  seconds: [number, number];
  jobs: number;
  /** Show a progress line on stderr (default true). */
  progress?: boolean;
}

export interface SynthResult {
  out: string;
  seed: number;
  clips: number;
  written: number;
  skipped: number;
  annotations: string;
  videos: string;
}

function annotationLine(c: PlannedClip): string {
  // Action id = verb id and noun 1: synth models verbs only.
  return `${c.clip} ${c.verb + 1} ${c.verb + 1} 1`;
}

/**
 * Writes an EGTEA-like dataset: `videos/<session>/<clip>.mp4` and `annotations/` (split files
 * and verb_idx.txt). Deterministic for a seed; a rerun keeps the videos already written.
 */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const plan = planSyntheticDataset(options.clips, options.seed, options.seconds);
  const annotations = path.join(options.out, 'annotations');
  const videos = path.join(options.out, 'videos');
  await fs.mkdir(annotations, { recursive: true });
  await writeFileAtomic(path.join(annotations, 'verb_idx.txt'), plan.classes.map((name, i) => `${name} ${i + 1}\n`).join(''));
  for (const split of ['train', 'test'] as const) {
    const lines = plan.clips.filter((c) => c.split === split).map(annotationLine);
    await writeFileAtomic(path.join(annotations, SPLIT_FILES[split]), `${lines.join('\n')}\n`);
  }
  await writeFileAtomic(
    path.join(options.out, 'synth.json'),
    JSON.stringify({ seed: options.seed, options, classes: plan.classes, patterns: CLASS_PATTERNS }, null, 2),
  );
  const progress = new Progress('synth', plan.clips.length, 'frames', options.progress === false ? null : process.stderr);
  const limit = pLimit(options.jobs);
  let written = 0;
  let skipped = 0;
  await Promise.all(
    plan.clips.map((clip) =>
      limit(async () => {
        const file = clipVideoPath(videos, clip);
        if (await pathExists(file)) {
          skipped += 1;
          progress.tick('skipped');
          return;
        }
        await fs.mkdir(path.dirname(file), { recursive: true });
        const random = new SeededRandom(options.seed).fork(`clip/${clip.index}`);
        const frames = Math.max(1, Math.round((clip.durationMs / 1000) * options.fps));
        const size = { width: options.width, height: options.height };
        const temporary = `${file}.tmp-${process.pid}.mp4`;
        await encodeH264(renderClip(CLASS_PATTERNS[clip.verb]!, random, size, options.fps, frames), size, options.fps, temporary);
        await fs.rename(temporary, file);
        written += 1;
        progress.tick('done', frames);
      }),
    ),
  );
  progress.finish();
  return { out: options.out, seed: options.seed, clips: plan.clips.length, written, skipped, annotations, videos };
}
