import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mnistImbalanced from '../../../pipelines/mnist-imbalanced.js';
import type { RunEvaluation } from '../../../src/eval/evaluate-run.js';
import type { CellOrder, CellResult } from '../../../src/sweep/run-cell.js';
import { parseSetArgument } from '../../../src/sweep/set-argument.js';
import { runSweep, type SweepOptions } from '../../../src/sweep/sweep.js';
import { validatePipeline } from '../../../src/config/pipeline.js';
import { writeMnistSource } from '../../image-sources.js';

// A tiny real grid: 2 losses x 2 seeds on a made-up MNIST source, one epoch each, run as the
// sweep runs them (child processes of the built command line).

let work: string;
let source: string;
const pipeline = validatePipeline({ ...mnistImbalanced, schedule: { ...mnistImbalanced.schedule, batchSize: 10, milestones: [] }, loader: { concurrency: 4, prefetch: 1 } }, 'test pipeline');
const sizes = { trainingImages: 20, validationPerClass: 5, testPerClass: 6 };

function options(out: string, overrides: Partial<SweepOptions> = {}): SweepOptions {
  return {
    command: 'sweep',
    pipelineName: 'mnist-imbalanced',
    pipeline,
    grid: { losses: ['ce', 'cdb'], taus: ['dynamic'], sets: [parseSetArgument('dataset.majorityRatio=0.8')], seeds: [1, 2], epochs: 1 },
    out,
    dataRoot: 'unused',
    source: { dataset: 'mnist-imbalanced', dir: source, classes: { minority: 3, majority: 7 }, sizes },
    jobs: 2,
    baseline: 'ce',
    ...overrides,
  };
}

const cellName = (seed: number, loss: string) => `dataset.majorityRatio=0.8,seed=${seed},loss=${loss}`;
const readJson = async <T>(file: string) => JSON.parse(await fs.readFile(file, 'utf8')) as T;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-sweep-'));
  source = path.join(work, 'mnist-source');
  await writeMnistSource(source, { train: 30, test: 8 });
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('egtea sweep', () => {
  it('runs every cell as a run folder, shares a seed\'s images between losses, and summarises over seeds', async () => {
    const out = path.join(work, 'grid');
    const lines: string[] = [];
    const summary = await runSweep({ ...options(out), log: (l) => lines.push(l) });
    expect(summary.failed).toEqual([]);
    expect(summary.missing).toEqual([]);
    expect(summary.variants).toEqual(['ce', 'cdb(tau=dynamic)']);
    expect(lines.filter((l) => /test error/.test(l))).toHaveLength(4);

    const errors = new Map<string, number[]>();
    for (const loss of ['ce', 'cdb(tau=dynamic)']) {
      for (const seed of [1, 2]) {
        const folder = path.join(out, 'runs', cellName(seed, loss));
        for (const file of ['run.json', 'history.jsonl', 'model.safetensors', 'best.safetensors', 'eval-test.json', 'result.json']) {
          await expect(fs.stat(path.join(folder, file))).resolves.toBeTruthy();
        }
        // The best epoch's weights are not the run's own: their evaluation has a name of its own.
        expect((await fs.readdir(folder)).filter((f) => /^eval-test\.[0-9a-f]{12}\.json$/.test(f))).toHaveLength(1);
        const order = await readJson<CellOrder>(path.join(folder, 'cell.json'));
        expect(order.dataRoot).toBe(path.resolve(out, 'data', `dataset.majorityRatio=0.8,seed=${seed}`));
        expect(order.pipeline.seed).toBe(seed);
        expect(order.pipeline.loss.name).toBe(loss.startsWith('cdb') ? 'cdb' : 'ce');
        const evaluation = await readJson<RunEvaluation>(path.join(folder, 'eval-test.json'));
        expect(evaluation.clips).toBe(12);
        const result = await readJson<CellResult>(path.join(folder, 'result.json'));
        expect(result.final.overall.top1).toBe(evaluation.top1);
        expect(result.trainingCounts).toEqual([4, 16]);
        expect(result.iterations).toBe(2);
        errors.set(loss, [...(errors.get(loss) ?? []), 1 - evaluation.top1!]);
      }
    }
    // Both losses of a seed trained on the same images; the two seeds chose different ones.
    const dataset = (seed: number) => fs.readFile(path.join(out, 'data', `dataset.majorityRatio=0.8,seed=${seed}`, 'annotations', 'train_split1.txt'), 'utf8');
    expect(await dataset(1)).not.toBe(await dataset(2));

    for (const [loss, [a, b]] of errors) {
      const row = summary.rows.find((r) => r.variant === loss && r.model === 'final')!;
      expect(row.seeds).toEqual([1, 2]);
      expect(row.testError.mean).toBeCloseTo((a! + b!) / 2, 12);
      expect(row.testError.std).toBeCloseTo(Math.abs(a! - b!) / Math.SQRT2, 12);
    }
    const cdb = summary.rows.find((r) => r.variant === 'cdb(tau=dynamic)' && r.model === 'final')!;
    const [c1, c2] = errors.get('cdb(tau=dynamic)')!;
    const [e1, e2] = errors.get('ce')!;
    expect(cdb.vsBaseline!.seeds).toBe(2);
    expect(cdb.vsBaseline!.meanDifference).toBeCloseTo((c1! - e1! + (c2! - e2!)) / 2, 12);
    expect(cdb.vsBaseline!.wins).toBe([c1! < e1!, c2! < e2!].filter(Boolean).length);
    expect(summary.rows.find((r) => r.variant === 'ce')!.vsBaseline).toBeNull();

    const markdown = await fs.readFile(path.join(out, 'summary.md'), 'utf8');
    expect(markdown).toContain('SCALED protocol: the paper uses 5000 / 500 / 800; here 20 / 5 / 6');
    expect(markdown).toContain('1 epochs = 2 iterations');
    expect(markdown).toContain('classes 3 (minority) vs 7 (majority)');
    const csv = (await fs.readFile(path.join(out, 'summary.csv'), 'utf8')).trim().split('\n');
    expect(csv).toHaveLength(1 + 4);
    expect(csv[0]).toMatch(/^setting,loss,model,seeds,test_error_mean,test_error_std,/);

    // Rerunning skips every finished cell; a cell whose result went missing is evaluated again without retraining.
    const before = await fs.readFile(path.join(out, 'runs', cellName(1, 'ce'), 'history.jsonl'), 'utf8');
    await fs.rm(path.join(out, 'runs', cellName(2, 'cdb(tau=dynamic)'), 'result.json'));
    const again: string[] = [];
    const second = await runSweep({ ...options(out), log: (l) => again.push(l) });
    expect(again.filter((l) => l.endsWith('already finished'))).toHaveLength(3);
    expect(await fs.readFile(path.join(out, 'runs', cellName(1, 'ce'), 'history.jsonl'), 'utf8')).toBe(before);
    expect(second.rows).toEqual(summary.rows);
  }, 240_000);

  it('names an unknown --set key, a bad value and a too-small source before anything runs', async () => {
    const out = path.join(work, 'never');
    await expect(runSweep(options(out, { grid: { ...options(out).grid, sets: [parseSetArgument('schedule.learningrate=0.1')] } }))).rejects.toThrow("--set schedule.learningrate=0.1: 'schedule.learningrate' is not a pipeline setting; did you mean 'schedule.learningRate'?");
    await expect(runSweep(options(out, { grid: { ...options(out).grid, sets: [parseSetArgument('schedule.batchSize=0')] } }))).rejects.toThrow('--set schedule.batchSize=0: schedule.batchSize must be a positive whole number');
    await expect(runSweep(options(out, { grid: { ...options(out).grid, sets: [parseSetArgument('dataset.majorityRatio=0.8,0.99')] }, source: { ...options(out).source!, sizes: { ...sizes, trainingImages: 40 } } }))).rejects.toThrow(
      /train-images-idx3-ubyte.gz: digit 7's training set \(plus 5 for validation\) needs 32 images, the file has 25/,
    );
    await expect(runSweep(options(out, { source: undefined }))).rejects.toThrow('--set dataset.majorityRatio: builds the images per cell, which needs --source');
    expect(() => parseSetArgument('schedule.epochs')).toThrow('--set schedule.epochs: expected KEY=VALUE[,VALUE...]');
    await expect(fs.stat(out)).rejects.toThrow();
  });

  it('refuses a folder another command made', async () => {
    const other = path.join(work, 'other');
    await fs.mkdir(other, { recursive: true });
    await fs.writeFile(path.join(other, 'notes.txt'), 'mine');
    await expect(runSweep(options(other))).rejects.toThrow(`${other}: not empty and not a sweep folder (no sweep.json); choose another --out`);
    const paper = path.join(work, 'paper');
    await fs.mkdir(paper, { recursive: true });
    await fs.writeFile(path.join(paper, 'sweep.json'), JSON.stringify({ command: 'paper table1', pipeline: 'mnist-imbalanced', source: null, grid: {} }));
    await expect(runSweep(options(paper))).rejects.toThrow(`${path.join(paper, 'sweep.json')}: ${paper} was made by egtea paper table1, not egtea sweep`);
    expect(await fs.readFile(path.join(other, 'notes.txt'), 'utf8')).toBe('mine');
  });
});
