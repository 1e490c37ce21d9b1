import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import mnistImbalanced from '../../pipelines/mnist-imbalanced.js';
import type { BatchSource } from '../../src/data/batch-source.js';
import { ClipLoader, type ClipRecord, type LoaderOptions } from '../../src/data/clip-loader.js';
import { loadFrameDataset } from '../../src/data/frame-dataset.js';
import { importImages } from '../../src/data/images/import-images.js';
import { residentUnfit, ResidentClips } from '../../src/data/resident-clips.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { RunFolder } from '../../src/run/run-folder.js';
import type { Pipeline } from '../../src/config/pipeline.js';
import { train } from '../../src/train/trainer.js';
import { temporaryFolder } from '../helpers.js';
import { writeMnistSource } from '../image-sources.js';

let trainRecords: ClipRecord[] = [];
let validation: ClipRecord[] = [];

beforeAll(async () => {
  const work = temporaryFolder('egtea-resident-');
  await writeMnistSource(path.join(work, 'source'), { train: 60, test: 4 }, 5, [4, 9]);
  const root = path.join(work, 'images');
  await importImages({
    dataset: 'mnist-imbalanced',
    source: path.join(work, 'source'),
    out: root,
    seed: 3,
    majorityRatio: 0.8,
    sizes: { trainingImages: 45, validationPerClass: 6, testPerClass: 4 },
  });
  const dataset = await loadFrameDataset({
    annotations: path.join(root, 'annotations'),
    frames: path.join(root, 'frames'),
    label: 'verb',
    validationSubjects: 'V01',
  });
  trainRecords = dataset.train;
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
    for (const [records, training] of [
      [trainRecords, true],
      [validation, false],
    ] as const) {
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

  it('gives the same batches when it gathers a few at a time, and frees those not taken when the consumer stops', async () => {
    const loader = new ClipLoader(trainRecords, options(true));
    // Two batches of 10 clips of 28 x 28 x 3 per gather: epochs cross gathers, a resumed one starts inside one.
    const resident = await ResidentClips.build(new ClipLoader(trainRecords, options(true)), 2 * 10 * 28 * 28 * 3 * 4);
    const before = tf.memory().numTensors;
    expect(await epoch(resident, 1)).toEqual(await epoch(loader, 1));
    expect(await epoch(resident, 2, 3)).toEqual(await epoch(loader, 2, 3));
    for await (const batch of resident.batches(4)) {
      expect(batch.names).toHaveLength(10);
      break;
    }
    expect(tf.memory().numTensors).toBe(before);
    resident.dispose();
  });

  it('is refused where an epoch draws pixels of its own (rotation, flips, crops smaller than the frame)', async () => {
    expect(residentUnfit(new ClipLoader(trainRecords, options(true)))).toBeNull();
    expect(residentUnfit(new ClipLoader(trainRecords, options(true, { rotation: 10 })))).toBe('rotation of up to 10 degrees');
    expect(residentUnfit(new ClipLoader(trainRecords, options(true, { flipProbability: 0.5 })))).toBe('flips with probability 0.5');
    expect(residentUnfit(new ClipLoader(trainRecords, options(true, { cropScale: [0.8, 1] })))).toMatch(/^random crops \(clip .*: 28x28, crop scale 0.8-1\)$/);
    // Evaluation crops the centre and takes segment middles: always alike.
    expect(residentUnfit(new ClipLoader(validation, options(false, { rotation: 10, cropScale: [0.8, 1] })))).toBeNull();
    await expect(ResidentClips.build(new ClipLoader(trainRecords, options(true, { rotation: 10 })))).rejects.toThrow('rotation of up to 10 degrees');
  });
});

describe('training from clips held on the device', () => {
  it('trains the same model as from the loader (CDB, 3 epochs: the same history, the same weights), and leaks no tensors', async () => {
    const work = temporaryFolder('egtea-resident-train-');
    const root = path.join(work, 'data');
    await writeMnistSource(path.join(work, 'source'), { train: 60, test: 4 }, 5, [4, 9]);
    await importImages({
      dataset: 'mnist-imbalanced',
      source: path.join(work, 'source'),
      out: path.join(root, 'mnist-imbalanced'),
      seed: 3,
      majorityRatio: 0.8,
      sizes: { trainingImages: 45, validationPerClass: 6, testPerClass: 4 },
    });
    const pipeline = (cacheMiB: number): Pipeline => ({
      ...mnistImbalanced,
      schedule: { ...mnistImbalanced.schedule, epochs: 3, batchSize: 10 },
      loader: { ...mnistImbalanced.loader, cacheMiB },
    });
    const runs: { lines: string[]; history: unknown[]; weights: Map<string, number[]> }[] = [];
    const before = tf.memory().numTensors;
    for (const cacheMiB of [0, 16]) {
      const out = path.join(work, `cache-${cacheMiB}`);
      const lines: string[] = [];
      await train({ pipeline: pipeline(cacheMiB), dataRoot: root, out, log: (line) => lines.push(line) });
      const history = (await new RunFolder(out).readHistory()).map(({ seconds: _, ...rest }) => rest);
      const tensors = await readSafetensors(path.join(out, 'model.safetensors'));
      runs.push({ lines, history, weights: new Map([...tensors].map(([name, t]) => [name, [...t.data].map(Number)])) });
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(runs[1]!.lines.find((l) => l.startsWith('training clips'))).toMatch(
      /^training clips decoded once and held on the device \(45 clips, 0 MiB, [\d.]+ s\); validation clips decoded once and held on the device \(12 clips, 0 MiB, [\d.]+ s\)$/,
    );
    expect(runs[0]!.lines.some((l) => l.includes('held on the device'))).toBe(false);
    expect(runs[1]!.history).toEqual(runs[0]!.history);
    expect(runs[1]!.weights).toEqual(runs[0]!.weights);
  });
});
