import { execFileSync } from 'node:child_process';
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
import { lockRunFolder } from '../../../src/run/run-lock.js';
import { writeMnistSource } from '../../image-sources.js';

// A tiny real grid: 2 losses x 2 seeds on a made-up MNIST source, one epoch each, run as the
// sweep runs them (child processes of the built command line).

let work: string;
let source: string;
const pipeline = validatePipeline(
  { ...mnistImbalanced, schedule: { ...mnistImbalanced.schedule, batchSize: 10, milestones: [] }, loader: { concurrency: 4, prefetch: 1 } },
  'test pipeline',
);
const sizes = { trainingImages: 20, validationPerClass: 5, testPerClass: 6 };

function options(out: string, overrides: Partial<SweepOptions> = {}): SweepOptions {
  return {
    command: 'sweep',
    pipelineName: 'mnist-imbalanced',
    pipeline,
    grid: { losses: ['ce', 'cdb'], taus: ['dynamic'], sets: [parseSetArgument('dataset.majorityRatio=0.8')], seeds: [1, 2], epochs: 2 },
    out,
    dataRoot: 'unused',
    source: { dataset: 'mnist-imbalanced', dir: source, classes: { minority: 3, majority: 7 }, sizes },
    jobs: 2,
    baseline: 'ce',
    ...overrides,
  };
}

const cellName = (seed: number, loss: string) => `dataset.majorityRatio=0.8,seed=${seed},loss=${loss}`;
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
  it("runs every cell as a run folder, shares a seed's images between losses, and summarises over seeds", async () => {
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
        expect(result.iterations).toBe(4);
        expect(result.epochs).toBe(2);
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
    expect(markdown).toContain('2 epochs = 4 iterations');
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

    // A rerun with fewer epochs cannot shorten the runs: it reports the 2 epochs they have, not 1.
    const shorter = await runSweep({ ...options(out), grid: { ...options(out).grid, epochs: 1 } });
    expect(shorter.rows).toEqual(summary.rows);
    expect(shorter.protocol.join('\n')).toContain(
      '2 epochs = 4 iterations (asked for 1; 4 finished cells had trained longer before, and a run is not shortened)',
    );
    expect((await readJson<CellResult>(path.join(out, 'runs', cellName(1, 'ce'), 'result.json'))).epochs).toBe(2);

    // A damaged result.json: named by the summary, the rest summarised; a run evaluates that cell again.
    const damagedFile = path.join(out, 'runs', cellName(1, 'cdb(tau=dynamic)'), 'result.json');
    const intact = await fs.readFile(damagedFile, 'utf8');
    await fs.writeFile(damagedFile, intact.slice(0, 40));
    const summarised = await runSweep({ ...options(out), run: false });
    expect(summarised.missing).toEqual([cellName(1, 'cdb(tau=dynamic)')]);
    expect(summarised.damaged).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${escapeRegExp(damagedFile)}: damaged \\(.*JSON.*\\); run the sweep again \\(without --no-run\\) to evaluate the cell again from its trained model$`,
        ),
      ),
    ]);
    expect(summarised.rows.find((r) => r.variant === 'ce' && r.model === 'final')!.seeds).toEqual([1, 2]);
    expect(await fs.readFile(path.join(out, 'summary.md'), 'utf8')).toContain('Damaged results (1):');
    const repair: string[] = [];
    const repaired = await runSweep({ ...options(out), log: (l) => repair.push(l) });
    expect(repair.filter((l) => l.startsWith('warning'))).toEqual([
      expect.stringMatching(new RegExp(`^warning: ${escapeRegExp(damagedFile)}: damaged \\(.+\\); evaluating the cell again from its trained model$`)),
    ]);
    expect(repaired.failed).toEqual([]);
    expect(repaired.missing).toEqual([]);
    expect(repaired.rows).toEqual(summary.rows);

    // A damaged sweep.json: a run is refused with what to do, --no-run still summarises.
    const sweepFile = path.join(out, 'sweep.json');
    const record = await fs.readFile(sweepFile, 'utf8');
    await fs.writeFile(sweepFile, record.slice(0, 10));
    await expect(runSweep(options(out))).rejects.toThrow(
      `${sweepFile}: damaged, so egtea cannot tell which sweep ${out} holds. If it is this one, delete sweep.json and run again: finished cells are kept and unfinished ones resume (--no-run summarises meanwhile); otherwise choose another --out`,
    );
    const warned: string[] = [];
    expect((await runSweep({ ...options(out), run: false, log: (l) => warned.push(l) })).rows).toEqual(summary.rows);
    expect(warned).toEqual([expect.stringContaining(`warning: ${sweepFile}: damaged`)]);
    await fs.rm(sweepFile);
    expect((await runSweep(options(out))).rows).toEqual(summary.rows);

    // A second sweep on the folder while one runs (its lock held) is refused, naming the holder.
    const held = await lockRunFolder(path.join(out, 'locks', 'sweep.lock'), 'sweep', 'sweep folder');
    try {
      await expect(runSweep(options(out))).rejects.toThrow(
        new RegExp(
          `locks/sweep\\.lock: another sweep is writing this sweep folder \\(pid ${process.pid}, since .*\\); wait for it to finish or stop it, or choose another --out$`,
        ),
      );
    } finally {
      await held.release();
    }
  }, 300_000);

  it('runs the long-tail losses with class sampling, and a post-hoc logit-adjusted line for ce', async () => {
    const out = path.join(work, 'long-tail');
    const grid = {
      losses: ['ce', 'balanced-softmax', 'logit-adjusted'] as const,
      taus: ['dynamic' as const],
      sets: [parseSetArgument('dataset.majorityRatio=0.8'), parseSetArgument('loader.classSampling=0.5')],
      seeds: [1],
      epochs: 1,
      posthocTau: 1,
    };
    const summary = await runSweep(options(out, { grid: { ...grid, losses: [...grid.losses] } }));
    expect(summary.failed).toEqual([]);
    expect(summary.variants).toEqual(['ce', 'ce+posthoc-la(t=1)', 'balanced-softmax', 'logit-adjusted']);
    const ce = path.join(out, 'runs', 'dataset.majorityRatio=0.8,loader.classSampling=0.5,seed=1,loss=ce');
    const adjusted = await readJson<RunEvaluation>(path.join(ce, 'eval-test.posthoc-la1.json'));
    expect(adjusted.posthoc).toEqual({ tau: 1 });
    const result = await readJson<CellResult>(path.join(ce, 'result.json'));
    expect(result.posthoc!.final.overall.top1).toBe(adjusted.top1);
    expect(summary.rows.find((r) => r.variant === 'ce+posthoc-la(t=1)' && r.model === 'final')!.top1.mean).toBe(adjusted.top1);
    expect((await readJson<CellOrder>(path.join(ce, 'cell.json'))).pipeline.loader.classSampling).toBe(0.5);
    // Only ce is adjusted post hoc; a loss trained with the prior is not.
    await expect(
      fs.stat(path.join(out, 'runs', 'dataset.majorityRatio=0.8,loader.classSampling=0.5,seed=1,loss=balanced-softmax', 'eval-test.posthoc-la1.json')),
    ).rejects.toThrow();
    const markdown = await fs.readFile(path.join(out, 'summary.md'), 'utf8');
    expect(markdown).toContain(
      "Class groups (of the first finished run's training counts): majority = the most frequent training class (1 class); minority = the other classes (1 class); many = > 100 training samples (0 classes); medium = 20-100 training samples (0 classes); few = < 20 training samples (2 classes).",
    );
    expect(markdown).toContain('shown as ce+posthoc-la(t=1)');
  }, 240_000);

  it('names an unknown --set key, a bad value and a too-small source before anything runs', async () => {
    const out = path.join(work, 'never');
    await expect(runSweep(options(out, { grid: { ...options(out).grid, sets: [parseSetArgument('schedule.learningrate=0.1')] } }))).rejects.toThrow(
      "--set schedule.learningrate=0.1: 'schedule.learningrate' is not a pipeline setting; did you mean 'schedule.learningRate'?",
    );
    await expect(runSweep(options(out, { grid: { ...options(out).grid, sets: [parseSetArgument('schedule.batchSize=0')] } }))).rejects.toThrow(
      '--set schedule.batchSize=0: schedule.batchSize must be a positive whole number',
    );
    await expect(
      runSweep(
        options(out, {
          grid: { ...options(out).grid, sets: [parseSetArgument('dataset.majorityRatio=0.8,0.99')] },
          source: { ...options(out).source!, sizes: { ...sizes, trainingImages: 40 } },
        }),
      ),
    ).rejects.toThrow(/train-images-idx3-ubyte.gz: digit 7's training set \(plus 5 for validation\) needs 32 images, the file has 25/);
    await expect(runSweep(options(out, { source: undefined }))).rejects.toThrow(
      '--set dataset.majorityRatio: builds the images per cell, which needs --source',
    );
    expect(() => parseSetArgument('schedule.epochs')).toThrow('--set schedule.epochs: expected KEY=VALUE[,VALUE...]');
    await expect(fs.stat(out)).rejects.toThrow();
  });

  it('images that cannot be built stop the sweep naming the path, and the process started for their cell with it', async () => {
    const out = path.join(work, 'blocked');
    await fs.mkdir(out, { recursive: true });
    // A file where the image folders go.
    await fs.writeFile(path.join(out, 'data'), '');
    await expect(runSweep(options(out, { jobs: 1, grid: { ...options(out).grid, losses: ['ce'], seeds: [1] } }))).rejects.toThrow(path.join(out, 'data'));
    // The cell's process starts while the images are built (it loads TensorFlow meanwhile): it must not be left waiting for its order.
    const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n');
    expect(processes.filter((line) => line.includes(out))).toEqual([]);
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
