import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePipeline } from '../../../src/config/pipeline.js';
import { readSafetensors, writeSafetensors } from '../../../src/io/safetensors.js';
import type { RunInfo } from '../../../src/run/run-folder.js';
import { evaluateRun, evaluateRunModels, GROUP_NAMES, type RunModel } from '../../../src/eval/evaluate-run.js';
import { train } from '../../../src/train/trainer.js';
import { smallPipeline, smallSyntheticDataset } from '../../synthetic-data.js';

let work: string;
let run: string;

beforeAll(async () => {
  const dataRoot = (await smallSyntheticDataset()).root;
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-evaluate-models-'));
  run = path.join(work, 'run');
  const small = smallPipeline({ epochs: 2 });
  // Room to hold the test clips once, so several models share one decoding of them.
  await train({ pipeline: validatePipeline({ ...small, loader: { ...small.loader, cacheMiB: 64 } }, 'test pipeline'), dataRoot, out: run });
});
afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('evaluateRunModels', () => {
  it('gives every model what evaluateRun gives it alone, from one decoding of the clips and one recording of the forward pass', async () => {
    // The run's weights, and the same with the head's bias for class 0 raised until every clip is called class 0.
    const other = path.join(work, 'class-0.safetensors');
    const tensors = await readSafetensors(path.join(run, 'model.safetensors'));
    const classes = (JSON.parse(await fs.readFile(path.join(run, 'run.json'), 'utf8')) as RunInfo).classes.length;
    const [name, bias] = [...tensors].find(([n, t]) => n.endsWith('.bias') && t.shape.length === 1 && t.shape[0] === classes)!;
    tensors.set(name, { shape: bias.shape, data: Float32Array.from(bias.data, (v, c) => (c === 0 ? 1e3 : v)) });
    await writeSafetensors(other, tensors);
    const models: RunModel[] = [{}, { weights: other }, { posthocTau: 1 }, { weights: other, posthocTau: 0.5 }];
    const together = await evaluateRunModels({ run, split: 'test', groups: GROUP_NAMES }, models);
    expect(together).toHaveLength(4);
    for (const [i, model] of models.entries()) {
      const alone = await evaluateRun({ run, split: 'test', groups: GROUP_NAMES, ...model });
      expect(together[i], `model ${i}`).toEqual(alone);
    }
    expect(together.map((e) => e.posthoc)).toEqual([null, null, { tau: 1 }, { tau: 0.5 }]);
    // Each model was its own: the second calls every clip class 0, the run's model does not.
    expect(together[1]!.perClass.map((c) => c.accuracy)).toEqual(together[1]!.perClass.map((c) => (c.index === 0 ? 1 : 0)));
    expect(together[0]!.perClass.map((c) => c.accuracy)).not.toEqual(together[1]!.perClass.map((c) => c.accuracy));
  });
});
