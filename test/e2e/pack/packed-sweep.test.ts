import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mnistImbalanced from '../../../pipelines/mnist-imbalanced.js';
import { RunFolder } from '../../../src/run/run-folder.js';
import type { LockHolder } from '../../../src/run/run-lock.js';
import type { CellResult } from '../../../src/sweep/run-cell.js';
import { parseSetArgument } from '../../../src/sweep/set-argument.js';
import { runSweep, type SweepOptions } from '../../../src/sweep/sweep.js';
import type { EpochRecord } from '../../../src/train/trainer.js';
import { validatePipeline } from '../../../src/config/pipeline.js';
import { writeMnistSource } from '../../image-sources.js';

// Grids on a made-up MNIST source run as the sweep runs them (child processes of the built
// command line), packed and not.

let work: string;
let source: string;
const pipeline = validatePipeline(
  { ...mnistImbalanced, schedule: { ...mnistImbalanced.schedule, batchSize: 10, learningRate: 0.01, milestones: [] }, loader: { concurrency: 4, prefetch: 1 } },
  'test pipeline',
);
const sizes = { trainingImages: 20, validationPerClass: 5, testPerClass: 6 };
const LOSSES = ['ce', 'cdb(tau=dynamic)', 'ldam'];
const SEEDS = [1, 2];

function options(out: string, overrides: Partial<SweepOptions> = {}): SweepOptions {
  return {
    command: 'sweep',
    pipelineName: 'mnist-imbalanced',
    pipeline,
    grid: { losses: ['ce', 'cdb', 'ldam'], taus: ['dynamic'], sets: [], seeds: SEEDS, epochs: 3 },
    out,
    dataRoot: 'unused',
    source: { dataset: 'mnist-imbalanced', dir: source, classes: { minority: 3, majority: 7 }, sizes },
    jobs: 1,
    baseline: 'ce',
    ...overrides,
  };
}

const cellFolder = (out: string, seed: number, loss: string) => path.join(out, 'runs', `seed=${seed},loss=${loss}`);
const readJson = async <T>(file: string) => JSON.parse(await fs.readFile(file, 'utf8')) as T;
const history = (folder: string) => new RunFolder(folder).readHistory();

/** Every cell's history, by folder name. */
async function histories(out: string): Promise<Map<string, EpochRecord[]>> {
  const all = new Map<string, EpochRecord[]>();
  for (const seed of SEEDS) for (const loss of LOSSES) all.set(`seed=${seed},loss=${loss}`, await history(cellFolder(out, seed, loss)));
  return all;
}

function expectSameTraining(a: Map<string, EpochRecord[]>, b: Map<string, EpochRecord[]>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [cell, records] of a) {
    const other = b.get(cell)!;
    expect(
      records.map((r) => r.epoch),
      cell,
    ).toEqual(other.map((r) => r.epoch));
    records.forEach((r, i) => {
      // Float noise: a packed step runs each cell's ops as it runs alone (test/e2e/pack/packed-step.test.ts).
      expect(r.trainLoss, `${cell}, epoch ${r.epoch}`).toBeCloseTo(other[i]!.trainLoss, 5);
      expect(r.validation.top1, `${cell}, epoch ${r.epoch}`).toBe(other[i]!.validation.top1);
      expect(r.cdb?.weights ?? null).toEqual(other[i]!.cdb?.weights ?? null);
    });
  }
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-packed-sweep-'));
  source = path.join(work, 'mnist-source');
  await writeMnistSource(source, { train: 30, test: 8 });
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('egtea sweep --pack', () => {
  it('writes the run folders an unpacked sweep writes, with the same training and summary', async () => {
    const unpacked = await runSweep(options(path.join(work, 'unpacked')));
    const lines: string[] = [];
    const packed = await runSweep({ ...options(path.join(work, 'packed')), pack: 4, log: (l) => lines.push(l) });
    expect(packed.failed).toEqual([]);
    // 6 cells in packs of 4 and 2.
    expect(lines.filter((l) => /packed with 3 more/.test(l))).toHaveLength(4);
    expect(lines.filter((l) => /packed with 1 more/.test(l))).toHaveLength(2);
    for (const seed of SEEDS) {
      for (const loss of LOSSES) {
        const [a, b] = [cellFolder(path.join(work, 'unpacked'), seed, loss), cellFolder(path.join(work, 'packed'), seed, loss)];
        // The same files (evaluations are named by the weights' digest, which float noise may change).
        const files = async (folder: string) =>
          (await fs.readdir(folder)).map((f) => f.replace(/^eval-test\.[0-9a-f]{12}\.json$/, 'eval-test.<digest>.json')).sort();
        expect(await files(b)).toEqual(await files(a));
        expect(await fs.readFile(path.join(b, 'run.log'), 'utf8')).toMatch(
          /training steps now run as one TensorFlow graph with 3 other runs|with 1 other runs/,
        );
        const [ra, rb] = [await readJson<CellResult>(path.join(a, 'result.json')), await readJson<CellResult>(path.join(b, 'result.json'))];
        expect(rb.final.overall.top1).toBe(ra.final.overall.top1);
        expect(rb.best.epoch).toBe(ra.best.epoch);
      }
    }
    expectSameTraining(await histories(path.join(work, 'packed')), await histories(path.join(work, 'unpacked')));
    // The summaries agree within the spread over seeds.
    expect(packed.rows.map((r) => [r.variant, r.model])).toEqual(unpacked.rows.map((r) => [r.variant, r.model]));
    for (const [i, row] of packed.rows.entries()) {
      const reference = unpacked.rows[i]!.testError;
      expect(Math.abs(row.testError.mean! - reference.mean!), `${row.variant} (${row.model})`).toBeLessThanOrEqual(reference.std ?? 0);
    }
  });

  it('killed in the middle, the same sweep resumes every packed cell from its checkpoint', async () => {
    const out = path.join(work, 'killed');
    const grid = { ...options(out).grid, epochs: 40 };
    const running = runSweep({ ...options(out), grid, pack: 6 });
    // Once every cell has checkpointed its first epoch, the pack's process is killed (its pid is in the run locks).
    const folders = SEEDS.flatMap((seed) => LOSSES.map((loss) => cellFolder(out, seed, loss)));
    const checkpointed = (folder: string) =>
      readJson<{ epoch: number }>(path.join(new RunFolder(folder).checkpointDir, 'state.json')).then(
        (s) => s.epoch >= 1,
        () => false,
      );
    let killed: number | null = null;
    for (let waited = 0; killed === null && waited < 240_000; waited += 20) {
      const started = await Promise.all(folders.map(checkpointed));
      if (started.every(Boolean)) {
        killed = (await readJson<LockHolder>(new RunFolder(folders[0]!).lockFile)).pid;
        process.kill(killed, 'SIGKILL');
      } else {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const first = await running;
    expect(killed).not.toBeNull();
    expect(first.failed.length, 'the kill came after the pack had finished').toBeGreaterThan(0);
    const stoppedAt = await Promise.all(folders.map(async (f) => (await history(f)).length));
    const rerun = await runSweep({ ...options(out), grid, pack: 6 });
    expect(rerun.failed).toEqual([]);
    for (const [i, folder] of folders.entries()) {
      const log = await fs.readFile(path.join(folder, 'run.log'), 'utf8');
      if (stoppedAt[i]! < 40) expect(log).toMatch(/resuming (after epoch|epoch \d+ after batch)/);
      expect((await history(folder)).map((r) => r.epoch)).toEqual(Array.from({ length: 40 }, (_, e) => e + 1));
    }
    // The resumed cells trained as uninterrupted ones do.
    const uninterrupted = path.join(work, 'uninterrupted');
    await runSweep({ ...options(uninterrupted), grid, pack: 6 });
    expectSameTraining(await histories(out), await histories(uninterrupted));
  });

  it('cells whose images cannot be read fail with the loader message; the cells packed with them finish', async () => {
    const out = path.join(work, 'damaged');
    const grid = { losses: ['ce', 'cdb'] as const, taus: ['dynamic' as const], sets: [], seeds: SEEDS };
    expect((await runSweep({ ...options(out), grid: { ...grid, losses: [...grid.losses], epochs: 1 }, pack: 4 })).failed).toEqual([]);
    // Seed 1's images (shared by its two cells) are damaged; a longer run extends every cell.
    const frames = path.join(out, 'data', 'seed=1', 'frames');
    for (const entry of await fs.readdir(frames, { recursive: true })) {
      if (String(entry).endsWith('.jpg')) await fs.writeFile(path.join(frames, String(entry)), 'not a JPEG');
    }
    const summary = await runSweep({ ...options(out), grid: { ...grid, losses: [...grid.losses], epochs: 2 }, pack: 4 });
    expect(summary.failed.map((f) => f.cell).sort(), JSON.stringify(summary.failed)).toEqual(['seed=1,loss=cdb(tau=dynamic)', 'seed=1,loss=ce']);
    for (const f of summary.failed) expect(f.message).toMatch(/run egtea prepare again/);
    for (const loss of ['ce', 'cdb(tau=dynamic)']) expect((await history(cellFolder(out, 2, loss))).map((r) => r.epoch)).toEqual([1, 2]);
  });

  it('a diverging cell fails with the trainer message; the cell packed with it finishes', async () => {
    const out = path.join(work, 'diverging');
    const summary = await runSweep({
      ...options(out),
      grid: { losses: ['ce'], taus: ['dynamic'], sets: [parseSetArgument('schedule.learningRate=0.01,1e30')], seeds: [1], epochs: 2 },
      pack: 2,
    });
    expect(summary.failed.map((f) => f.cell)).toEqual(['schedule.learningRate=1e+30,seed=1,loss=ce']);
    expect(summary.failed[0]!.message).toMatch(/training diverged at epoch 1, batch \d+: .*Nothing of this step was saved/);
    await expect(fs.stat(path.join(out, 'runs', 'schedule.learningRate=0.01,seed=1,loss=ce', 'result.json'))).resolves.toBeTruthy();
  });
});
