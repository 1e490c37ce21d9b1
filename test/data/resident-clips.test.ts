import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import mnistImbalanced from '../../pipelines/mnist-imbalanced.js';
import type { BatchSource } from '../../src/data/batch-source.js';
import { ClipLoader, type ClipRecord, type LoaderOptions } from '../../src/data/clip-loader.js';
import { loadFrameDataset } from '../../src/data/frame-dataset.js';
import { importImages } from '../../src/data/images/import-images.js';
import { residentUnfit, ResidentClips } from '../../src/data/resident-clips.js';
import { temporaryFolder } from '../helpers.js';
import { writeMnistSource } from '../image-sources.js';

let train: ClipRecord[] = [];
let validation: ClipRecord[] = [];

beforeAll(async () => {
  const work = temporaryFolder('egtea-resident-');
  await writeMnistSource(path.join(work, 'source'), { train: 60, test: 4 }, 5, [4, 9]);
  const root = path.join(work, 'images');
  await importImages({ dataset: 'mnist-imbalanced', source: path.join(work, 'source'), out: root, seed: 3, majorityRatio: 0.8, sizes: { trainingImages: 45, validationPerClass: 6, testPerClass: 4 } });
  const dataset = await loadFrameDataset({ annotations: path.join(root, 'annotations'), frames: path.join(root, 'frames'), label: 'verb', validationSubjects: 'V01' });
  train = dataset.train;
  validation = dataset.validation;
});

/** The imbalanced-MNIST pipeline's loader settings, batches of 10 (45 clips: the last batch is short). */
const options = (training: boolean, transform: Partial<LoaderOptions['transform']> = {}): LoaderOptions => ({
  batchSize: 10,
  segments: 1,
  training,
  transform: { ...mnistImbalanced.clips.transform, ...transform },
  seed: 7,
  concurrency: 3,
  prefetch: 1,
  cacheMiB: 16,
});

async function epoch(source: BatchSource, e: number, first = 0): Promise<{ clips: number[][]; labels: number[][]; names: string[][] }> {
  const out = { clips: [] as number[][], labels: [] as number[][], names: [] as string[][] };
  for await (const batch of source.batches(e, first)) {
    out.clips.push([...batch.clips.dataSync()]);
    out.labels.push([...batch.labels.dataSync()]);
    out.names.push(batch.names);
  }
  return out;
}

describe('clips held on the device', () => {
  it("gives the loader's batches value for value, in its seeded order, every epoch and from any batch; disposes them", async () => {
    for (const [records, training] of [[train, true], [validation, false]] as const) {
      const loader = new ClipLoader(records, options(training));
      const resident = await ResidentClips.build(new ClipLoader(records, options(training)));
      const before = tf.memory().numTensors;
      for (const e of training ? [1, 2, 5] : [0]) {
        const expected = await epoch(loader, e);
        expect(expected.names.length).toBe(Math.ceil(records.length / 10));
        expect(await epoch(resident, e)).toEqual(expected);
      }
      if (training) {
        // Another epoch's order is another permutation; a resumed epoch starts at its batch.
        expect((await epoch(resident, 3)).names).not.toEqual((await epoch(resident, 1)).names);
        const tail = await epoch(resident, 2, 3);
        expect(tail).toEqual(await epoch(loader, 2, 3));
      }
      expect(tf.memory().numTensors).toBe(before);
      resident.dispose();
    }
  });

  it('is refused where an epoch draws pixels of its own (rotation, flips, crops smaller than the frame)', async () => {
    expect(residentUnfit(new ClipLoader(train, options(true)))).toBeNull();
    expect(residentUnfit(new ClipLoader(train, options(true, { rotation: 10 })))).toBe('rotation of up to 10 degrees');
    expect(residentUnfit(new ClipLoader(train, options(true, { flipProbability: 0.5 })))).toBe('flips with probability 0.5');
    expect(residentUnfit(new ClipLoader(train, options(true, { cropScale: [0.8, 1] })))).toMatch(/^random crops \(clip .*: 28x28, crop scale 0.8-1\)$/);
    // Evaluation crops the centre and takes segment middles: always alike.
    expect(residentUnfit(new ClipLoader(validation, options(false, { rotation: 10, cropScale: [0.8, 1] })))).toBeNull();
    await expect(ResidentClips.build(new ClipLoader(train, options(true, { rotation: 10 })))).rejects.toThrow('rotation of up to 10 degrees');
  });
});
