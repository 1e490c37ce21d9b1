import os from 'node:os';
import path from 'node:path';
import { pathExists } from '../util/files.js';
import { synthesize } from '../video/synth/synthesize.js';

/** A synthetic EGTEA-like dataset for the benchmarks (640x480 H.264, seeded), made once and reused. */
export async function benchDataset(root: string, clips: number): Promise<{ videos: string; annotations: string }> {
  const out = path.join(root, `bench-synth-${clips}`);
  const videos = path.join(out, 'videos');
  const annotations = path.join(out, 'annotations');
  if (!(await pathExists(path.join(out, 'synth.json')))) {
    process.stderr.write(`making the benchmark dataset (${clips} clips) in ${out}\n`);
  }
  // synth skips clips already written, so this is cheap when the data is there.
  await synthesize({ out, clips, seed: 1, width: 640, height: 480, fps: 24, seconds: [1.5, 3.5], jobs: os.availableParallelism() });
  return { videos, annotations };
}
