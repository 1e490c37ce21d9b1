import os from 'node:os';
import path from 'node:path';
import synth from '../pipelines/synth.js';
import { validatePipeline, type Pipeline } from '../src/train/pipeline.js';
import { DEFAULT_FRAME_OPTIONS } from '../src/video/extract-frames.js';
import { prepareFrames } from '../src/video/prepare.js';
import { synthesize, type SynthOptions } from '../src/video/synth/synthesize.js';

/** A small synthetic EGTEA-like set (90 clips, 160x120, about a second each), made once per machine and reused. */
export const SMALL_SYNTH: Omit<SynthOptions, 'out'> = { clips: 90, seed: 5, width: 160, height: 120, fps: 12, seconds: [0.6, 1.2], jobs: os.availableParallelism(), progress: false };

export async function smallSyntheticDataset(): Promise<{ root: string; videos: string; annotations: string; frames: string }> {
  const root = path.join(os.tmpdir(), `egtea-test-synth-${SMALL_SYNTH.seed}-${SMALL_SYNTH.clips}`);
  const result = await synthesize({ ...SMALL_SYNTH, out: root });
  const frames = path.join(root, 'frames');
  // Both steps skip what is already there, so later test files pay nothing.
  const summary = await prepareFrames({ videos: result.videos, annotations: result.annotations, out: frames, frames: { ...DEFAULT_FRAME_OPTIONS, shortSide: 128 }, jobs: os.availableParallelism(), progress: false });
  if (summary.failed.length > 0) throw new Error(`the test dataset did not prepare: ${JSON.stringify(summary.failed)}`);
  return { root, videos: result.videos, annotations: result.annotations, frames };
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
