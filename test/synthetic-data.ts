import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import synth from '../pipelines/synth.js';
import { validatePipeline, type Pipeline } from '../src/config/pipeline.js';
import { DEFAULT_FRAME_OPTIONS, type FrameExtractionOptions } from '../src/video/extract-frames.js';
import { prepareFrames } from '../src/video/prepare.js';
import { synthesize, type SynthOptions } from '../src/video/synth/synthesize.js';

/** A small synthetic EGTEA-like set (90 clips, 160x120, about a second each), made once per machine and reused. */
export const SMALL_SYNTH: Omit<SynthOptions, 'out'> = {
  clips: 90,
  seed: 5,
  width: 160,
  height: 120,
  fps: 12,
  seconds: [0.6, 1.2],
  jobs: os.availableParallelism(),
  progress: false,
};

/** How the small set's frames are prepared. */
export const SMALL_PREPARE_FRAMES: FrameExtractionOptions = { ...DEFAULT_FRAME_OPTIONS, shortSide: 128 };

export interface SmallDataset {
  root: string;
  videos: string;
  annotations: string;
  frames: string;
}

const SOURCE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
const SET_PREFIX = 'egtea-test-synth-';
const READY = 'ready.json';
// A set another checkout has not used for this long is removed (it may still be in use just now).
const STALE_MS = 6 * 3600_000;

/** The source files `entries` import, directly or not (relative imports only). */
function importClosure(entries: string[]): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const match of fs.readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) visit(path.resolve(path.dirname(file), `${match[1]}.ts`));
  };
  for (const entry of entries) visit(entry);
  return [...seen].sort();
}

/**
 * What the set is made from: the options and every source file synth and prepare run. Any
 * change to them gives a new folder, so a stale set is never reused.
 */
function setDigest(): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ ...SMALL_SYNTH, jobs: null, frames: SMALL_PREPARE_FRAMES }));
  for (const file of importClosure([path.join(SOURCE_ROOT, 'video', 'synth', 'synthesize.ts'), path.join(SOURCE_ROOT, 'video', 'prepare.ts')])) {
    hash.update(path.relative(SOURCE_ROOT, file)).update(fs.readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

function layout(root: string): SmallDataset {
  return { root, videos: path.join(root, 'videos'), annotations: path.join(root, 'annotations'), frames: path.join(root, 'frames') };
}

async function build(root: string): Promise<void> {
  const result = await synthesize({ ...SMALL_SYNTH, out: root });
  const summary = await prepareFrames({
    videos: result.videos,
    annotations: result.annotations,
    out: layout(root).frames,
    frames: SMALL_PREPARE_FRAMES,
    jobs: os.availableParallelism(),
    progress: false,
  });
  if (summary.failed.length > 0) throw new Error(`the test dataset did not prepare: ${JSON.stringify(summary.failed)}`);
  fs.writeFileSync(path.join(root, READY), JSON.stringify({ clips: summary.clips }));
}

function removeStaleSets(current: string): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith(SET_PREFIX) || name === current) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs > STALE_MS) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // another process removed it first
    }
  }
}

async function makeSmallSyntheticDataset(): Promise<SmallDataset> {
  const name = `${SET_PREFIX}${setDigest()}`;
  const root = path.join(os.tmpdir(), name);
  removeStaleSets(name);
  if (!fs.existsSync(path.join(root, READY))) {
    // Built aside and renamed whole, so concurrent runs never see (or delete) a half-made set.
    const building = fs.mkdtempSync(path.join(os.tmpdir(), `${name}.building-`));
    try {
      await build(building);
      fs.renameSync(building, root);
    } catch (error) {
      fs.rmSync(building, { recursive: true, force: true });
      // Another run finished first: its set is the same, keep it.
      if (!fs.existsSync(path.join(root, READY))) throw error;
    }
  }
  const now = new Date();
  fs.utimesSync(root, now, now);
  return layout(root);
}

let shared: Promise<SmallDataset> | null = null;

/**
 * The small synthetic set with its prepared frames, in the system temp folder under a name that
 * is a digest of what makes it. Treat it as read-only: copy it to change it.
 */
export function smallSyntheticDataset(): Promise<SmallDataset> {
  shared ??= makeSmallSyntheticDataset();
  return shared;
}

/** The built-in synth pipeline pointed at the small set (data root: its `root`), on 4 frames of 32 x 32. */
export function smallPipeline(changes: { epochs?: number; loss?: Pipeline['loss'] } = {}): Pipeline {
  return validatePipeline(
    {
      ...synth,
      dataset: { ...synth.dataset, annotations: 'annotations', frames: 'frames' },
      clips: { frames: 4, transform: { ...synth.clips.transform, size: 32 } },
      loss: changes.loss ?? synth.loss,
      schedule: { ...synth.schedule, epochs: changes.epochs ?? 2, batchSize: 12, accumulation: 2, learningRate: 0.01 },
    },
    'test pipeline',
  );
}
