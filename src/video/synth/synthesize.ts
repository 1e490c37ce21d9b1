import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { SPLIT_FILES } from '../../data/annotations.js';
import { clipVideoPath } from '../../data/frame-layout.js';
import { UserError } from '../../util/errors.js';
import { pathExists, writeFileAtomic } from '../../util/files.js';
import { Progress } from '../../util/progress.js';
import { SeededRandom } from '../../util/random.js';
import { checkFfmpegRuns } from '../ffmpeg-binaries.js';
import { encodeH264 } from './encode.js';
import { CLASS_PATTERNS } from './patterns.js';
import { planSyntheticDataset, type PlannedClip, type SynthPlan } from './plan.js';
import { renderClip } from './render.js';

/**
 * The defaults of `egtea synth` (and of the demo): 1500 clips of 160x120 at 12 fps, 1 to 2 s.
 * The model reads 8 frames of 64 x 64, so larger frames or longer clips would only cost making
 * and decoding them; the time goes to more clips instead (the rarest classes still have few).
 */
export const SYNTH_DEFAULTS = { clips: 1500, seed: 1, width: 160, height: 120, fps: 12, seconds: [1, 2] as [number, number] };

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

/** About 100 times EGTEA (10,321 clips); each clip is one ffmpeg run, so more would take days. */
export const MAX_SYNTH_CLIPS = 1_000_000;

// Bytes of H.264 per pixel of every frame, measured on synth's own clips (crf 23): 0.0207 at
// 160x120 12 fps, 0.0019 at 640x480 24 fps. The smaller figure keeps the estimate from refusing
// a set that would fit; it is there to catch sizes off by orders of magnitude. Each clip also
// takes at least one 4 KB filesystem block and an 80-byte annotation line.
const VIDEO_BYTES_PER_PIXEL = 0.0019;
const BYTES_PER_CLIP = 4096 + 80;

/** Rough size of a synthetic set on disk: its videos and annotation lines. */
function estimateSynthBytes(options: Pick<SynthOptions, 'clips' | 'width' | 'height' | 'fps' | 'seconds'>): number {
  const meanSeconds = (options.seconds[0] + options.seconds[1]) / 2;
  return options.clips * (options.width * options.height * options.fps * meanSeconds * VIDEO_BYTES_PER_PIXEL + BYTES_PER_CLIP);
}

async function freeBytes(dir: string): Promise<number | null> {
  // The folder may not exist yet: ask the nearest one that does.
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      const stats = await fs.statfs(at);
      return stats.bavail * stats.bsize;
    } catch {
      if (path.dirname(at) === at) return null;
    }
  }
}

const bytesText = (bytes: number) => (bytes < 1e9 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e9).toFixed(1)} GB`);

/** Refuses, before anything is written, a set that is too large to make or to fit. */
async function checkSize(options: SynthOptions): Promise<void> {
  if (options.clips > MAX_SYNTH_CLIPS) {
    throw new UserError(`--clips ${options.clips}: synth makes at most ${MAX_SYNTH_CLIPS} clips (about 100 times EGTEA's 10321; each clip is one ffmpeg run)`);
  }
  const needed = estimateSynthBytes(options);
  const free = await freeBytes(options.out);
  if (free !== null && needed > free) {
    throw new UserError(
      `--clips ${options.clips}: ${options.width}x${options.height} at ${options.fps} fps needs about ${bytesText(needed)}, but ${options.out} has ${bytesText(free)} free; ask for fewer or smaller clips, or another --out`,
    );
  }
}

/** Writes lines to `file` through a temporary name as they come, so a plan is never held as text. */
async function writeLinesAtomic(file: string, lines: Iterable<string>): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  const stream = createWriteStream(temporary);
  try {
    for (const line of lines) if (!stream.write(`${line}\n`)) await once(stream, 'drain');
    stream.end();
    await once(stream, 'finish');
  } catch (error) {
    stream.destroy();
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await fs.rename(temporary, file);
}

function* splitLines(plan: SynthPlan, split: 'train' | 'test'): Generator<string> {
  for (const clip of plan.clips()) if (clip.split === split) yield annotationLine(clip);
}

/**
 * Writes an EGTEA-like dataset: `videos/<session>/<clip>.mp4` and `annotations/` (split files
 * and verb_idx.txt). Deterministic for a seed; a rerun keeps the videos already written. The
 * size is checked first, and the plan is streamed, so a huge --clips is refused at once.
 */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const plan = planSyntheticDataset(options.clips, options.seed, options.seconds);
  await checkSize(options);
  checkFfmpegRuns();
  const annotations = path.join(options.out, 'annotations');
  const videos = path.join(options.out, 'videos');
  await fs.mkdir(annotations, { recursive: true });
  await writeFileAtomic(path.join(annotations, 'verb_idx.txt'), plan.classes.map((name, i) => `${name} ${i + 1}\n`).join(''));
  for (const split of ['train', 'test'] as const) await writeLinesAtomic(path.join(annotations, SPLIT_FILES[split]), splitLines(plan, split));
  await writeFileAtomic(
    path.join(options.out, 'synth.json'),
    JSON.stringify({ seed: options.seed, options, classes: plan.classes, patterns: CLASS_PATTERNS }, null, 2),
  );
  const progress = new Progress('synth', plan.total, 'frames', options.progress === false ? null : process.stderr);
  let written = 0;
  let skipped = 0;
  const writeClip = async (clip: PlannedClip) => {
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
  };
  // `jobs` workers take the next clip from the plan as they free up.
  const queue = plan.clips();
  const worker = async () => {
    for (let next = queue.next(); !next.done; next = queue.next()) await writeClip(next.value);
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));
  progress.finish();
  return { out: options.out, seed: options.seed, clips: plan.total, written, skipped, annotations, videos };
}
