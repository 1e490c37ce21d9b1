import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readSafetensors, writeSafetensors } from '../../../src/io/safetensors.js';
import { evaluateRun, GROUP_NAMES } from '../../../src/eval/evaluate-run.js';
import { microBatches, train } from '../../../src/train/trainer.js';
import type { Pipeline } from '../../../src/config/pipeline.js';
import { smallPipeline, smallSyntheticDataset } from '../../synthetic-data.js';

let dataRoot: string;
let work: string;
/** A run folder with one finished epoch, copied by each test that damages it. */
let finished: string;

beforeAll(async () => {
  dataRoot = (await smallSyntheticDataset()).root;
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-run-safety-'));
  finished = path.join(work, 'finished');
  await train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out: finished });
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function copyOfFinished(name: string): Promise<string> {
  const out = path.join(work, name);
  await fs.cp(finished, out, { recursive: true });
  return out;
}

function withTransform(p: Pipeline, change: Partial<Pipeline['clips']['transform']>): Pipeline {
  return { ...p, clips: { ...p.clips, transform: { ...p.clips.transform, ...change } } };
}

describe('a diverging run', () => {
  it('a normalisation that blows the inputs up stops at epoch 1, batch 1, naming the pipeline and its mean/std, and writes nothing', async () => {
    const out = path.join(work, 'bad-std');
    const pipeline = withTransform(smallPipeline({ epochs: 1 }), { std: [1e-30, 1e-30, 1e-30] });
    await expect(train({ pipeline, pipelineSource: 'bad-std.mjs', dataRoot, out, checkpointMinutes: 0 })).rejects.toThrow(
      /^bad-std\.mjs: training diverged at epoch 1, batch 1: the (loss is NaN|(gradient|updated value) of '[\w.]+'( \(and \d+ more\))? holds NaN or Inf)\. Nothing of this step was saved; no checkpoint was written yet\. .*std \[1e-30,1e-30,1e-30\]/,
    );
    expect((await fs.readdir(out)).sort()).toEqual(['run.json']);
  });

  it('a learning rate of 1e6 stops the run before the history, the model or a non-finite checkpoint is written', async () => {
    const out = path.join(work, 'high-rate');
    const base = smallPipeline({ epochs: 2 });
    const pipeline = { ...base, schedule: { ...base.schedule, learningRate: 1e6 } };
    const error = (await train({ pipeline, dataRoot, out, checkpointMinutes: 0 }).then(
      () => null,
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(
      /^pipeline synth: training diverged at epoch \d, (batch \d+: the (loss is NaN|loss is -?Infinity|(gradient|updated value) of .* holds NaN or Inf)|in validation: the model's scores of \d+ of \d+ validation clips hold NaN or Inf)\. .*schedule\.learningRate 1000000/,
    );
    const names = await fs.readdir(out);
    expect(names).not.toContain('model.safetensors');
    expect(names).not.toContain('checkpoint.next');
    const history = await fs.readFile(path.join(out, 'history.jsonl'), 'utf8').catch(() => '');
    const diverged = Number(/epoch (\d)/.exec(error.message)![1]);
    expect(
      history
        .trim()
        .split('\n')
        .filter((l) => l !== '').length,
    ).toBe(diverged - 1);
    // Rerunning the same command would diverge again: no promise that it resumes.
    expect(error.message).not.toContain('resumes');
    expect(error.message).toContain('Rerunning the same command would diverge again: change the pipeline and pass --restart, or train it into another --out.');
    if (names.includes('checkpoint')) {
      expect(error.message).toMatch(/the last checkpoint \((after epoch|inside epoch) .*\) is kept/);
      for (const [name, tensor] of await readSafetensors(path.join(out, 'checkpoint', 'weights.safetensors'))) {
        expect(Array.from(tensor.data, Number).every(Number.isFinite), name).toBe(true);
      }
    }
  });
});

/** A copy of `file` with the first value of its first float tensor set to `value` (every value with `all`). */
async function withFirstValue(file: string, value: number, to = file, all = false): Promise<void> {
  const tensors = await readSafetensors(file);
  const [name, stored] = [...tensors].find(([, t]) => t.data instanceof Float32Array && t.data.length > 1)!;
  const data = Float32Array.from(stored.data);
  if (all) data.fill(value);
  else data[0] = value;
  tensors.set(name, { shape: stored.shape, data });
  await writeSafetensors(to, tensors);
}

describe('finite weights whose scores are not finite (a diverged model)', () => {
  it('stop training at the validation that finds them, naming the epoch, before anything of the epoch is saved', async () => {
    // One step per epoch at a learning rate of 1e6: the weights stay finite, the logits do not.
    const out = path.join(work, 'diverged-scores');
    const base = smallPipeline({ epochs: 2 });
    const pipeline = { ...base, schedule: { ...base.schedule, learningRate: 1e6, batchSize: 96, accumulation: 1 } };
    const error = (await train({ pipeline, dataRoot, out }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(
      /^pipeline synth: training diverged at epoch 1, in validation: the model's scores of \d+ of \d+ validation clips hold NaN or Inf\. Nothing of this epoch was saved; no checkpoint was written yet\. .*schedule\.learningRate 1000000/,
    );
    expect((await fs.readdir(out)).sort()).toEqual(['run.json']);
  });

  it('are refused by eval, which saves nothing', async () => {
    const out = await copyOfFinished('overflowing-weights');
    const model = path.join(out, 'model.safetensors');
    await withFirstValue(model, 3e38, model, true);
    await expect(evaluateRun({ run: out, split: 'test', groups: GROUP_NAMES })).rejects.toThrow(
      new RegExp(
        `^${model.replace(/[.]/g, '\\.')}: the model's scores of \\d+ of \\d+ test clips hold NaN or Inf: these weights come from a diverged run and cannot be evaluated \\(nothing was saved\\)$`,
      ),
    );
    expect((await fs.readdir(out)).filter((f) => f.startsWith('eval-'))).toEqual([]);
  });
});

describe('weights that cannot be trained from', () => {
  it('a checkpoint holding NaN is refused on load, naming the file, instead of diverging again at every rerun', async () => {
    const out = await copyOfFinished('nan-checkpoint');
    const weights = path.join(out, 'checkpoint', 'weights.safetensors');
    await withFirstValue(weights, Number.NaN);
    // As if saved so (its checksum matches): only the values are wrong.
    const stateFile = path.join(out, 'checkpoint', 'state.json');
    const state = JSON.parse(await fs.readFile(stateFile, 'utf8'));
    if (state.sha256)
      state.sha256.weights = createHash('sha256')
        .update(await fs.readFile(weights))
        .digest('hex');
    await fs.writeFile(stateFile, JSON.stringify(state));
    const error = (await train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot, out }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(
      new RegExp(
        `^${weights.replace(/[.]/g, '\\.')}: '[\\w.]+' hold NaN or Inf: this checkpoint cannot be resumed\\. Restore it from a copy; or pass --restart`,
      ),
    );
  });

  it('a checkpoint whose weights changed after it was saved (finite values) is refused by its checksum', async () => {
    const out = await copyOfFinished('changed-checkpoint');
    const weights = path.join(out, 'checkpoint', 'weights.safetensors');
    await withFirstValue(weights, 0.123);
    await expect(train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot, out })).rejects.toThrow(
      `${weights}: not the file this checkpoint was saved with (its SHA-256 differs from the one in ${path.join(out, 'checkpoint', 'state.json')}): damaged or replaced since.`,
    );
  });

  it('--init weights holding Inf are refused before training, naming the file and the tensor', async () => {
    const init = path.join(work, 'inf-init.safetensors');
    await withFirstValue(path.join(finished, 'model.safetensors'), Number.POSITIVE_INFINITY, init);
    await expect(train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out: path.join(work, 'inf-init'), init })).rejects.toThrow(
      new RegExp(`^${init.replace(/[.]/g, '\\.')}: '[\\w.]+' hold NaN or Inf: training cannot start from them \\(--init / model\\.init\\)`),
    );
  });
});

describe('a run folder is never wiped without --restart', () => {
  for (const missing of ['checkpoint', path.join('checkpoint', 'state.json')]) {
    it(`with ${missing} gone, more epochs are refused with what is missing and the choices, and nothing is deleted`, async () => {
      const out = await copyOfFinished(`missing-${missing.replace(/\W/g, '-')}`);
      await fs.rm(path.join(out, missing), { recursive: true });
      const before = (await fs.readdir(out)).sort();
      await expect(train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot, out })).rejects.toThrow(
        `${out}: holds results (history.jsonl, model.safetensors) but no checkpoint to resume from (checkpoint/state.json is missing); pass --restart to discard them and train from the start, or choose another --out to keep them`,
      );
      expect((await fs.readdir(out)).sort()).toEqual(before);
    });
  }

  for (const [damage, says] of [
    ['cut', /run\.json: damaged, not JSON \(.*\)\. /],
    ['missing', /run\.json: missing\. /],
  ] as const) {
    it(`a ${damage} run.json is named, with a way that keeps the checkpoint, history and weights (never --restart), and that way resumes`, async () => {
      const out = await copyOfFinished(`run-json-${damage}`);
      const runJson = path.join(out, 'run.json');
      if (damage === 'cut') await fs.truncate(runJson, 40);
      else await fs.rm(runJson);
      const before = (await fs.readdir(out)).sort();
      const error = (await train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot, out }).catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(says);
      expect(error.message).toContain(
        `The rest of ${out} (checkpoint, history, weights, evaluations) is intact; to keep it, rerun egtea train with the pipeline and data this run was started with, --out ${out} and --rewrite-run-json`,
      );
      expect(error.message).not.toContain('--restart');
      expect((await fs.readdir(out)).sort()).toEqual(before);
      const lines: string[] = [];
      const result = await train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot, out, rewriteRunInfo: true, log: (line) => lines.push(line) });
      expect(lines.join('\n')).toContain('writing it anew from pipeline synth');
      expect(result.resumedFrom).toBe(1);
      expect(result.epochs.map((r) => r.epoch)).toEqual([1, 2]);
      expect(JSON.parse(await fs.readFile(runJson, 'utf8')).pipeline).toEqual(smallPipeline({ epochs: 2 }));
    });
  }

  it('an emptied history is not resumed over', async () => {
    const out = await copyOfFinished('emptied-history');
    await fs.writeFile(path.join(out, 'history.jsonl'), '');
    await expect(train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot, out })).rejects.toThrow(
      `${path.join(out, 'history.jsonl')}: holds no epochs, but the checkpoint is after epoch 1`,
    );
    expect(await fs.readFile(path.join(out, 'history.jsonl'), 'utf8')).toBe('');
  });

  it('a history line past the checkpoint (a kill between the two writes) is dropped on resume', async () => {
    const out = await copyOfFinished('extra-line');
    const history = await fs.readFile(path.join(out, 'history.jsonl'), 'utf8');
    const extra = { ...JSON.parse(history), epoch: 2 };
    await fs.appendFile(path.join(out, 'history.jsonl'), `${JSON.stringify(extra)}\n`);
    const result = await train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out });
    expect(result.epochs.map((r) => r.epoch)).toEqual([1]);
    expect(await fs.readFile(path.join(out, 'history.jsonl'), 'utf8')).toBe(history);
  });

  it('a corrupt checkpoint is named with the way out', async () => {
    const out = await copyOfFinished('corrupt');
    await fs.writeFile(path.join(out, 'checkpoint', 'state.json'), '{"epoch": 1,');
    await expect(train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot, out })).rejects.toThrow(
      /checkpoint\/state\.json: not a readable checkpoint state \(.*\); rerun with --restart to start over/,
    );
    await fs.writeFile(path.join(out, 'checkpoint', 'state.json'), '{"epoch": 1, "seed": 1, "tracker": null}');
    const weights = path.join(out, 'checkpoint', 'weights.safetensors');
    await fs.truncate(weights, 100);
    await expect(train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot, out })).rejects.toThrow(new RegExp(`^${weights.replace(/[.]/g, '\\.')}: `));
  });

  it('a second train on a folder in use is refused with the holder, and --restart removes the evaluations of the old weights', async () => {
    const out = await copyOfFinished('restart');
    await fs.writeFile(path.join(out, 'eval-test.json'), '{}');
    await fs.writeFile(path.join(out, 'eval-test.0123456789ab.json'), '{}');
    await fs.writeFile(
      path.join(out, 'train.lock'),
      JSON.stringify({
        pid: process.pid,
        command: (await fs.readFile('/proc/self/cmdline', 'utf8'))
          .split('\0')
          .filter((s) => s)
          .join(' '),
        host: os.hostname(),
        since: 'now',
      }),
    );
    await expect(train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out, restart: true })).rejects.toThrow(
      `another train is writing this run folder (pid ${process.pid}`,
    );
    expect(await fs.readdir(out)).toContain('eval-test.json');
    await fs.rm(path.join(out, 'train.lock'));
    await train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out, restart: true });
    expect((await fs.readdir(out)).sort()).toEqual(['checkpoint', 'history.jsonl', 'model.safetensors', 'run.json', 'tb']);
  });
});

describe('micro-batches', () => {
  it("split an epoch's short last batch into near-equal parts, in order", () => {
    const clips = tf.tensor5d(
      Array.from({ length: 5 }, (_, i) => i),
      [5, 1, 1, 1, 1],
    );
    const labels = tf.tensor1d([0, 1, 2, 3, 4], 'int32');
    const parts = microBatches(clips, labels, 2);
    expect(parts.map((p) => Array.from(p.labels.dataSync()))).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
    expect(parts.map((p) => Array.from(p.clips.dataSync()))).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
    const many = microBatches(clips, labels, 4);
    expect(many.map((p) => p.labels.shape[0])).toEqual([2, 1, 1, 1]);
    const few = microBatches(tf.slice(clips, 0, 3) as tf.Tensor5D, tf.slice(labels, 0, 3) as tf.Tensor1D, 8);
    expect(few.map((p) => p.labels.shape[0])).toEqual([1, 1, 1]);
    tf.dispose([
      clips,
      labels,
      ...parts.flatMap((p) => [p.clips, p.labels]),
      ...many.flatMap((p) => [p.clips, p.labels]),
      ...few.flatMap((p) => [p.clips, p.labels]),
    ]);
  });
});

describe('LDAM-DRW inside a run', () => {
  it('trains epoch 1 as plain LDAM and switches to class-balanced weights at the DRW epoch', async () => {
    const ldam = (drwEpoch: number | null): Pipeline['loss'] => ({ name: 'ldam', drwEpoch });
    const switched = await train({ pipeline: smallPipeline({ epochs: 2, loss: ldam(1) }), dataRoot, out: path.join(work, 'drw-1') });
    const never = await train({ pipeline: smallPipeline({ epochs: 2, loss: ldam(null) }), dataRoot, out: path.join(work, 'drw-none') });
    // Epoch 1 (0-based 0) is before the switch: the same numbers.
    expect(switched.epochs[0]!.trainLoss).toBe(never.epochs[0]!.trainLoss);
    expect(switched.epochs[1]!.trainLoss).not.toBeCloseTo(never.epochs[1]!.trainLoss, 3);
  });
});
