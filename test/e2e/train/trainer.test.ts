import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import synth from '../../../pipelines/synth.js';
import { readSafetensors, writeSafetensors } from '../../../src/io/safetensors.js';
import { createModel } from '../../../src/models/presets.js';
import { exportTorchStateDict } from '../../../src/models/torch-weights.js';
import type { Pipeline } from '../../../src/config/pipeline.js';
import { train, type EpochRecord } from '../../../src/train/trainer.js';
import { smallPipeline, smallSyntheticDataset } from '../../synthetic-data.js';

let dataRoot: string;
let work: string;

beforeAll(async () => {
  dataRoot = (await smallSyntheticDataset()).root;
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-train-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function readHistory(out: string): Promise<EpochRecord[]> {
  const text = await fs.readFile(path.join(out, 'history.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as EpochRecord);
}

async function finalWeights(out: string): Promise<Map<string, Float32Array>> {
  const tensors = await readSafetensors(path.join(out, 'model.safetensors'));
  return new Map([...tensors].map(([name, t]) => [name, Float32Array.from(t.data)]));
}

describe('train (CDB-CE on the small synthetic set)', () => {
  it('records each epoch with its seed, updates the CDB weights from validation, and leaks no tensors', async () => {
    const out = path.join(work, 'cdb');
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const result = await train({ pipeline: smallPipeline({ epochs: 3 }), dataRoot, out, onEpochEnd: () => counts.push(tf.memory().numTensors) });
    expect(tf.memory().numTensors).toBe(before);
    // Momentum buffers appear in the first step; after that nothing grows from epoch to epoch.
    expect(new Set(counts).size).toBe(1);
    const history = await readHistory(out);
    expect(history.map((r) => r.epoch)).toEqual([1, 2, 3]);
    // The weights each epoch records, recomputed by hand from the accuracies it records: tau by
    // the paper's rule over the classes with validation samples, d^tau, scaled to sum to the
    // number of classes; a class without samples keeps its previous (unscaled) weight.
    let raw = new Array<number>(result.classes.length).fill(1);
    for (const record of history) {
      expect(record.seed).toBe(synth.seed);
      expect(Number.isFinite(record.trainLoss)).toBe(true);
      expect(record.validation.samples).toBe(24);
      expect(record.validation.groups.majority.samples + record.validation.groups.minority.samples).toBe(24);
      const accuracy = record.validation.perClass.map((c) => c.accuracy);
      const present = accuracy.filter((a): a is number => a !== null);
      const tau = 2 / (1 + Math.exp(-(Math.max(...present) / (Math.min(...present) + 1e-4) - 1)));
      raw = raw.map((w, c) => (accuracy[c] === null ? w : (1 - accuracy[c]!) ** tau));
      const sum = raw.reduce((a, b) => a + b, 0);
      expect(record.cdb!.tau).toBeCloseTo(tau, 12);
      record.cdb!.weights.forEach((w, c) => expect(w, `epoch ${record.epoch}, class ${c}`).toBeCloseTo((raw[c]! * raw.length) / sum, 10));
    }
    const run = JSON.parse(await fs.readFile(path.join(out, 'run.json'), 'utf8'));
    expect(run.seed).toBe(synth.seed);
    expect(run.groups.majority).toHaveLength(5);
  });

  it('says on its log, once, which classes have no validation clips, not only in history.jsonl', async () => {
    const out = path.join(work, 'unmeasured');
    const base = smallPipeline({ epochs: 1 });
    // One validation subject: some classes have no clip there.
    const pipeline = { ...base, dataset: { ...base.dataset, validationSubjects: 'P22' } };
    const lines: string[] = [];
    await train({ pipeline, dataRoot, out, log: (line) => lines.push(line) });
    const unmeasured = (await readHistory(out))[0]!.validation.perClass.filter((c) => c.accuracy === null).map((c) => c.name);
    expect(unmeasured.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.includes('no validation clips'))).toEqual([
      `warning: ${unmeasured.length} of 19 classes have no validation clips (${unmeasured.join(', ')}): their validation accuracy is never measured, so validation metrics leave them out and CDB keeps their weight; to measure them, choose validation subjects that have them (dataset.validationSubjects P22)`,
    ]);
  });

  for (const lossName of ['cdb', 'eql'] as const) {
    it(`${lossName}: a run stopped after epoch 1 and started again ends where an uninterrupted run does`, async () => {
      // EQL's lambda high enough that classes with one or two clips count as rare, and even odds, so its draws matter.
      const loss: Pipeline['loss'] = lossName === 'cdb' ? { name: 'cdb', tau: 'dynamic' } : { name: 'eql', eqlLambda: 0.05, eqlGamma: 0.5 };
      const whole = path.join(work, `whole-${lossName}`);
      const split = path.join(work, `split-${lossName}`);
      await train({ pipeline: smallPipeline({ epochs: 2, loss }), dataRoot, out: whole });
      await train({ pipeline: smallPipeline({ epochs: 1, loss }), dataRoot, out: split });
      const resumed = await train({ pipeline: smallPipeline({ epochs: 2, loss }), dataRoot, out: split });
      expect(resumed.resumedFrom).toBe(1);
      expect((await readHistory(split)).map((r) => r.epoch)).toEqual([1, 2]);
      const a = await finalWeights(whole);
      const b = await finalWeights(split);
      for (const [name, values] of a) {
        const other = b.get(name)!;
        let worst = 0;
        for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]! - other[i]!));
        expect(worst, name).toBeLessThan(1e-4);
      }
      // Running it once more has nothing left to do.
      expect((await train({ pipeline: smallPipeline({ epochs: 2, loss }), dataRoot, out: split })).epochs).toHaveLength(2);
    });
  }

  it('a run stopped inside an epoch resumes at the next batch and ends where an uninterrupted run does', async () => {
    // EQL with even odds, so the loss's random draws must line up too.
    const loss: Pipeline['loss'] = { name: 'eql', eqlLambda: 0.05, eqlGamma: 0.5 };
    const pipeline = smallPipeline({ epochs: 2, loss });
    const whole = path.join(work, 'whole-inside');
    const split = path.join(work, 'split-inside');
    await train({ pipeline, dataRoot, out: whole });
    const stop = new Error('stopped for the test');
    const trained: string[] = [];
    await expect(
      train({
        pipeline,
        dataRoot,
        out: split,
        checkpointMinutes: 0,
        onBatchEnd: (epoch, batch) => {
          trained.push(`${epoch}/${batch}`);
          if (epoch === 2 && batch === 1) throw stop;
        },
      }),
    ).rejects.toBe(stop);
    const state = JSON.parse(await fs.readFile(path.join(split, 'checkpoint', 'state.json'), 'utf8'));
    expect(state.epoch).toBe(1);
    expect(state.partial.batches).toBe(1);
    // Fewer epochs than the one it stopped in would end on weights from inside an epoch: refused.
    await expect(train({ pipeline: smallPipeline({ epochs: 1, loss }), dataRoot, out: split })).rejects.toThrow(/inside epoch 2; train to at least 2 epochs/);
    const resumed: string[] = [];
    const result = await train({ pipeline, dataRoot, out: split, onBatchEnd: (epoch, batch) => resumed.push(`${epoch}/${batch}`) });
    expect(result.resumedInside).toEqual({ epoch: 2, batches: 1 });
    expect(resumed[0]).toBe('2/2');
    expect(trained.length + resumed.length).toBe(2 * Number(trained.filter((b) => b.startsWith('1/')).length));
    expect((await readHistory(split)).map((r) => r.epoch)).toEqual([1, 2]);
    const [a, b] = [await finalWeights(whole), await finalWeights(split)];
    for (const [name, values] of a) {
      const other = b.get(name)!;
      let worst = 0;
      for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]! - other[i]!));
      expect(worst, name).toBeLessThan(1e-4);
    }
    // The epoch's loss counts the batches before the stop as well.
    const [wholeLast, splitLast] = [(await readHistory(whole)).at(-1)!, (await readHistory(split)).at(-1)!];
    expect(splitLast.trainLoss).toBeCloseTo(wholeLast.trainLoss, 4);
  });

  it('a kill between the checkpoint renames leaves checkpoint.old, and the run resumes from it', async () => {
    const out = path.join(work, 'renamed');
    await train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out });
    await fs.rename(path.join(out, 'checkpoint'), path.join(out, 'checkpoint.old'));
    const resumed = await train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot, out });
    expect(resumed.resumedFrom).toBe(1);
    expect(await fs.readdir(out)).not.toContain('checkpoint.old');
    expect(JSON.parse(await fs.readFile(path.join(out, 'checkpoint', 'state.json'), 'utf8')).epoch).toBe(2);
  });

  it('refuses to resume a run folder made by a different pipeline', async () => {
    const out = path.join(work, 'other');
    await train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out });
    await expect(train({ pipeline: smallPipeline({ epochs: 1, loss: { name: 'ce' } }), dataRoot, out })).rejects.toThrow(/different pipeline; pass --restart/);
    const restarted = await train({ pipeline: smallPipeline({ epochs: 1, loss: { name: 'ce' } }), dataRoot, out, restart: true });
    expect(restarted.epochs[0]!.cdb).toBeNull();
  });

  it('--init loads every tensor of a checkpoint with another class count and replaces only the head', async () => {
    const p = smallPipeline({ epochs: 1 });
    const donor = createModel({ arch: p.model.arch, numClasses: 7, frames: p.clips.frames, size: p.clips.transform.size, seed: 9 });
    const file = path.join(work, 'donor.safetensors');
    await writeSafetensors(file, exportTorchStateDict(donor.parameters));
    const donorStem = Float32Array.from(exportTorchStateDict(donor.parameters).get('conv1.weight')!.data);
    donor.parameters.dispose();
    const result = await train({ pipeline: p, dataRoot, out: path.join(work, 'init'), init: file });
    expect(result.init!.replacedHead.sort()).toEqual(['fc.bias', 'fc.weight']);
    expect(result.init!.loaded).toContain('conv1.weight');
    expect(result.init!.loaded).not.toContain('fc.weight');
    // Training moved the weights away from the donor's, but from the donor's start, not a fresh one.
    const trained = (await finalWeights(path.join(work, 'init'))).get('conv1.weight')!;
    const fresh = createModel({ arch: p.model.arch, numClasses: 19, frames: p.clips.frames, size: p.clips.transform.size, seed: p.seed });
    const freshStem = exportTorchStateDict(fresh.parameters).get('conv1.weight')!.data;
    fresh.parameters.dispose();
    const distance = (x: ArrayLike<number>) => Math.sqrt(Array.from(trained).reduce((sum, v, i) => sum + (v - x[i]!) ** 2, 0));
    expect(distance(donorStem)).toBeLessThan(distance(freshStem));
  });

  it('--init with weights of another architecture names the tensor that does not fit', async () => {
    const lenet = createModel({ arch: 'lenet5', numClasses: 19 });
    const file = path.join(work, 'lenet.safetensors');
    await writeSafetensors(file, exportTorchStateDict(lenet.parameters));
    lenet.parameters.dispose();
    await expect(train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out: path.join(work, 'bad-init'), init: file })).rejects.toThrow(
      /lenet.safetensors: missing tensor 'bn1.weight' and \d+ more/,
    );
    await expect(
      train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out: path.join(work, 'no-init'), init: path.join(work, 'absent.safetensors') }),
    ).rejects.toThrow(/absent.safetensors: no such weights file/);
  });

  it('a damaged frame stops the run with its file and the repair, and the finished epochs stay', async () => {
    const copy = path.join(work, 'damaged-data');
    await fs.cp(dataRoot, copy, { recursive: true });
    const out = path.join(work, 'damaged');
    await train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot: copy, out });
    const manifest = (await fs.readFile(path.join(copy, 'frames', 'manifest.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { clip: string });
    const victim = manifest.map((r) => r.clip).find((clip) => clip.startsWith('P20-'))!;
    const session = victim.split('-').slice(0, 3).join('-');
    const folder = path.join(copy, 'frames', session, victim);
    for (const name of await fs.readdir(folder)) await fs.writeFile(path.join(folder, name), 'not a jpeg');
    await expect(train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot: copy, out })).rejects.toThrow(
      new RegExp(`${victim}/img_\\d+\\.jpg: .*delete .*${victim} and run egtea prepare again`),
    );
    expect((await readHistory(out)).map((r) => r.epoch)).toEqual([1]);
    expect(JSON.parse(await fs.readFile(path.join(out, 'checkpoint', 'state.json'), 'utf8')).epoch).toBe(1);
  });
});
