import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../src/distributed/ports.js';
import { nativeBackend } from '../../src/engine/native-backend.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { train, type EpochRecord } from '../../src/train/trainer.js';
import { temporaryFolder } from '../helpers.js';
import { smallSyntheticDataset } from '../synthetic-data.js';
import { distributedTestPipeline } from './test-pipeline.js';
import { runScript } from './spawn-workers.js';

let dataRoot: string;
beforeAll(async () => {
  dataRoot = (await smallSyntheticDataset()).root;
});

async function history(out: string): Promise<EpochRecord[]> {
  return (await fs.readFile(path.join(out, 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as EpochRecord);
}

describe.runIf(nativeBackend() !== null)('data-parallel training over TensorFlow collectives', () => {
  it('2 workers train to the weights of one process accumulating their two shards, with the same CDB weights', async () => {
    const work = temporaryFolder('egtea-dist-');
    const single = path.join(work, 'single');
    const parallel = path.join(work, 'parallel');
    // The pipeline accumulates 2 micro-batches a step: one per worker.
    await train({ pipeline: distributedTestPipeline(2), dataRoot, out: single });
    const addresses = (await freePorts(2)).map((p) => `localhost:${p}`);
    const runs = await Promise.all([0, 1].map((task) => runScript('train-worker.ts', [String(task), dataRoot, parallel, '2', ...addresses])));
    runs.forEach((r, task) => expect(r.code, `task ${task}:\n${r.stderr.slice(-3000)}`).toBe(0));

    const [a, b] = await Promise.all([single, parallel].map((out) => readSafetensors(path.join(out, 'model.safetensors'))));
    expect([...b!.keys()].sort()).toEqual([...a!.keys()].sort());
    let worst = 0;
    let moved = 0;
    for (const [name, expected] of a!) {
      const actual = b!.get(name)!;
      // Relative to the tensor's largest value, so values near zero do not inflate it.
      let scale = 1e-3;
      let diff = 0;
      expected.data.forEach((v, i) => {
        scale = Math.max(scale, Math.abs(v));
        diff = Math.max(diff, Math.abs(v - actual.data[i]!));
      });
      worst = Math.max(worst, diff / scale);
      if (name.endsWith('running_mean')) moved = Math.max(moved, scale);
    }
    console.log(`worst relative difference: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    // The running statistics did move (so their combination across workers is tested).
    expect(moved).toBeGreaterThan(1e-3);

    // CDB's weights: exactly the single process's, on both workers and in the chief's history.
    const expected = (await history(single)).map((r) => r.cdb);
    expect((await history(parallel)).map((r) => r.cdb)).toEqual(expected);
    for (const r of runs) expect(JSON.parse(r.stdout.trim().split('\n').pop()!).cdb).toEqual(expected);
    expect((await history(parallel)).map((r) => r.trainLoss)).toEqual((await history(single)).map((r) => expect.closeTo(r.trainLoss, 5)));
  });
});
