import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClassResults } from '../../../src/metrics/report-file.js';
import { buildReport } from '../../../src/report/build-report.js';
import { readSafetensors, writeSafetensors } from '../../../src/io/safetensors.js';
import { train } from '../../../src/train/trainer.js';
import { smallPipeline, smallSyntheticDataset } from '../../synthetic-data.js';
import { egtea } from '../../support/run-cli.js';

let run: string;
let work: string;

beforeAll(async () => {
  const dataRoot = (await smallSyntheticDataset()).root;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-eval-'));
  run = path.join(work, 'run');
  await train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out: run });
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** Weights like the run's, with one tensor changed: weights from elsewhere. */
async function otherWeights(name: string, change: (values: Float32Array) => void): Promise<string> {
  const tensors = await readSafetensors(path.join(run, 'model.safetensors'));
  const [first, stored] = [...tensors].find(([, t]) => t.data.length > 1)!;
  const values = Float32Array.from(stored.data);
  change(values);
  tensors.set(first, { shape: stored.shape, data: values });
  const file = path.join(work, name);
  await writeSafetensors(file, tensors);
  return file;
}

const digestOf = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('egtea eval', () => {
  it('reports the test split overall and by class group, numbers that follow from its confusion matrix, and a report egtea weights can read', async () => {
    const result = egtea(['eval', '--run', run, '--groups', 'majority,minority', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.split).toBe('test');
    expect(document.samples).toBe(document.clips);
    expect(Object.keys(document.groups)).toEqual(['majority', 'minority']);
    expect(document.groups.majority.samples + document.groups.minority.samples).toBe(document.clips);
    expect(document.groups.majority.classes).toHaveLength(5);
    expect(document.weights).toBe(path.resolve(run, 'model.safetensors'));
    expect(document.weightsDigest).toBe(digestOf(path.join(run, 'model.safetensors')));
    // Recomputed from the confusion matrix (rows: true class): top-1, macro recall and precision, overall and per group.
    const confusion: number[][] = document.confusion;
    const support = confusion.map((row) => row.reduce((a, b) => a + b, 0));
    const predicted = confusion.map((_, c) => confusion.reduce((sum, row) => sum + row[c]!, 0));
    const names: string[] = document.perClass.map((c: { name: string }) => c.name);
    const check = (metrics: { samples: number; top1: number; macroRecall: number; macroPrecision: number }, classes: number[]) => {
      const samples = classes.reduce((sum, c) => sum + support[c]!, 0);
      expect(metrics.samples).toBe(samples);
      expect(metrics.top1).toBeCloseTo(classes.reduce((sum, c) => sum + confusion[c]![c]!, 0) / samples, 12);
      const recalls = classes.filter((c) => support[c]! > 0).map((c) => confusion[c]![c]! / support[c]!);
      expect(metrics.macroRecall).toBeCloseTo(recalls.reduce((a, b) => a + b, 0) / recalls.length, 12);
      const precisions = classes.filter((c) => support[c]! > 0 || predicted[c]! > 0).map((c) => (predicted[c]! > 0 ? confusion[c]![c]! / predicted[c]! : 0));
      expect(metrics.macroPrecision).toBeCloseTo(precisions.reduce((a, b) => a + b, 0) / precisions.length, 12);
    };
    check(
      document,
      names.map((_, c) => c),
    );
    for (const group of ['majority', 'minority'])
      check(
        document.groups[group],
        document.groups[group].classes.map((n: string) => names.indexOf(n)),
      );
    expect(document.top5).toBeGreaterThanOrEqual(document.top1);
    expect(document.top5).toBeLessThanOrEqual(1);
    const saved = await readClassResults(path.join(run, 'eval-test.json'));
    expect(saved).toHaveLength(19);
    expect(saved.reduce((sum, c) => sum + c.support, 0)).toBe(document.clips);
    const weights = egtea(['weights', '--from', path.join(run, 'eval-test.json'), '--json']);
    expect(weights.code, weights.stderr).toBe(0);
    expect(JSON.parse(weights.stdout).classes).toHaveLength(19);
  });

  it('names a folder that is not a run, an unknown group, an empty --groups, and weights that hold NaN', async () => {
    const missing = egtea(['eval', '--run', work]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${path.join(work, 'run.json')}: missing; is this a folder made by egtea train?`);
    const group = egtea(['eval', '--run', run, '--groups', 'majority,rare']);
    expect(group.code).toBe(1);
    expect(group.stderr).toMatch(/unknown group 'rare'/);
    const empty = egtea(['eval', '--run', run, '--groups', '']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe('egtea: --groups: no class group given; choose from majority, minority, many, medium, few (comma-separated)\n');
    const thresholds = egtea(['eval', '--run', run, '--thresholds', '10,20,30']);
    // A bad option value is a usage error.
    expect(thresholds.code).toBe(2);
    expect(thresholds.stderr).toContain("--thresholds <many,few>' argument '10,20,30' is invalid. '10,20,30': give MANY,FEW as whole numbers");
    const diverged = await otherWeights('diverged.safetensors', (values) => (values[3] = Number.NaN));
    const nan = egtea(['eval', '--run', run, '--weights', diverged]);
    expect(nan.code).toBe(1);
    expect(nan.stderr).toMatch(/diverged\.safetensors: '[\w.]+' hold NaN or Inf: these weights come from a diverged run and cannot be evaluated/);
  });

  it('chooses many/medium/few by training samples (thresholds stated), and adjusts logits post hoc into a file of its own', async () => {
    const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')) as { classes: string[]; trainingCounts: number[] };
    const byName = (names: string[]) => names.map((n) => info.trainingCounts[info.classes.indexOf(n)]!);
    const result = egtea(['eval', '--run', run, '--groups', 'many,medium,few', '--thresholds', '30,10', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const plain = JSON.parse(result.stdout);
    expect(plain.thresholds).toEqual({ many: 30, few: 10 });
    expect(plain.posthoc).toBeNull();
    expect(byName(plain.groups.many.classes).every((n) => n > 30)).toBe(true);
    expect(byName(plain.groups.medium.classes).every((n) => n >= 10 && n <= 30)).toBe(true);
    expect(byName(plain.groups.few.classes).every((n) => n < 10)).toBe(true);
    expect(plain.groups.many.classes.length + plain.groups.medium.classes.length + plain.groups.few.classes.length).toBe(info.classes.length);
    expect(plain.groups.many.rule).toBe('> 30 training samples');
    // The default: every group, many-shot above 100 and few-shot below 20, each stated in the table.
    const text = egtea(['eval', '--run', run]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/many \(> 100 training samples; \d+ class/);
    expect(text.stdout).toMatch(/medium \(20-100 training samples; \d+ class/);
    expect(text.stdout).toMatch(/majority \(the 5 most frequent training classes; 5 classes\)/);
    // t = 0 changes nothing; a huge t sends every clip to a class with the fewest training samples.
    const zero = JSON.parse(egtea(['eval', '--run', run, '--posthoc-la', '0', '--json']).stdout);
    expect(zero.file).toBe(path.join(run, 'eval-test.posthoc-la0.json'));
    expect(zero.posthoc).toEqual({ tau: 0 });
    expect(zero.confusion).toEqual(plain.confusion);
    const huge = JSON.parse(egtea(['eval', '--run', run, '--posthoc-la', '1000', '--json']).stdout);
    const fewest = Math.min(...info.trainingCounts);
    const predicted = info.classes.map((_, c) => huge.confusion.reduce((sum: number, row: number[]) => sum + row[c]!, 0));
    predicted.forEach((n: number, c: number) => {
      if (info.trainingCounts[c] !== fewest) expect(n, info.classes[c]).toBe(0);
    });
    // Both lines in compare, the plain one first; then the files go, so other tests see the run as it was.
    const compared = egtea(['compare', run]);
    expect(compared.code, compared.stderr).toBe(0);
    expect(compared.stdout).toMatch(/cdb \+ post-hoc LA \(t=0\)[\s\S]*cdb \+ post-hoc LA \(t=1000\)/);
    expect(compared.stdout).toContain('many (> 100 training samples;');
    // And in the report's tables, each group's heading with its rule and size.
    const { html } = await buildReport([run]);
    expect(html).toContain('post-hoc LA t=1000');
    expect(html).toMatch(/few \(&lt; 20 training samples; \d+ class/);
    for (const t of [0, 1000]) fs.rmSync(path.join(run, `eval-test.posthoc-la${t}.json`));
  });

  it("evaluates weights from elsewhere under a name of their own, never over the run's evaluation", async () => {
    const own = path.join(run, 'eval-test.json');
    if (!fs.existsSync(own)) expect(egtea(['eval', '--run', run]).code).toBe(0);
    const before = fs.readFileSync(own, 'utf8');
    const other = await otherWeights('other.safetensors', (values) => values.fill(0));
    const result = egtea(['eval', '--run', run, '--weights', other, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const file = path.join(run, `eval-test.${digestOf(other).slice(0, 12)}.json`);
    expect(JSON.parse(result.stdout)).toMatchObject({ file, ownWeights: false, weights: other, weightsDigest: digestOf(other) });
    expect(fs.existsSync(file)).toBe(true);
    expect(fs.readFileSync(own, 'utf8')).toBe(before);
    fs.rmSync(file);
  });

  it('falls back to the checkpoint (or checkpoint.old) when training has not finished', () => {
    const unfinished = path.join(work, 'unfinished');
    fs.cpSync(run, unfinished, { recursive: true });
    fs.rmSync(path.join(unfinished, 'model.safetensors'));
    fs.renameSync(path.join(unfinished, 'checkpoint'), path.join(unfinished, 'checkpoint.old'));
    const result = egtea(['eval', '--run', unfinished, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      `training has not finished: evaluating the last checkpoint (${path.join(unfinished, 'checkpoint.old', 'weights.safetensors')})`,
    );
    const document = JSON.parse(result.stdout);
    // The checkpoint holds the final weights of a finished run: the same digest as its model.
    expect(document.weightsDigest).toBe(digestOf(path.join(run, 'model.safetensors')));
    expect(document.ownWeights).toBe(true);
    fs.rmSync(unfinished, { recursive: true });
  });
});

describe('egtea compare', () => {
  it('puts evaluated runs in one table and names a run that was never evaluated', async () => {
    // Needs the saved evaluation of the first test of egtea eval.
    if (!fs.existsSync(path.join(run, 'eval-test.json'))) expect(egtea(['eval', '--run', run]).code).toBe(0);
    const result = egtea(['compare', run, run, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.runs).toHaveLength(2);
    expect(document.runs[0].loss).toBe('cdb');
    expect(document.runs[0].groups.minority.samples).toBeGreaterThan(0);
    expect(document.runs[0].overall.top1).toBe(JSON.parse(fs.readFileSync(path.join(run, 'eval-test.json'), 'utf8')).top1);
    const text = egtea(['compare', run]);
    expect(text.stdout).toMatch(/minority \(14\)/);
    const validation = egtea(['compare', run, '--split', 'validation']);
    expect(validation.code).toBe(1);
    expect(validation.stderr).toContain(`eval-validation.json: missing; run egtea eval --run ${run} --split validation first`);
  });

  it('refuses an evaluation of weights the run no longer holds, and one that does not say which weights it measured', async () => {
    if (!fs.existsSync(path.join(run, 'eval-test.json'))) expect(egtea(['eval', '--run', run]).code).toBe(0);
    const stale = path.join(work, 'stale');
    fs.cpSync(run, stale, { recursive: true });
    fs.copyFileSync(await otherWeights('retrained.safetensors', (values) => values.fill(1)), path.join(stale, 'model.safetensors'));
    const result = egtea(['compare', stale]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${path.join(stale, 'eval-test.json')}: measured other weights (${path.resolve(run, 'model.safetensors')}) than the run holds now (${path.join(stale, 'model.safetensors')}); it is stale: run egtea eval --run ${stale} again`,
    );
    const saved = JSON.parse(fs.readFileSync(path.join(run, 'eval-test.json'), 'utf8'));
    delete saved.weightsDigest;
    fs.writeFileSync(path.join(stale, 'eval-test.json'), JSON.stringify(saved));
    expect(egtea(['compare', stale]).stderr).toContain('eval-test.json: does not record which weights it measured; run egtea eval');
    fs.rmSync(stale, { recursive: true });
  });
});

describe('egtea demo', () => {
  it('makes one set of clips, trains CDB-CE and CE on it from one seed, and compares them by class group; a rerun trains nothing again', () => {
    const data = path.join(work, 'demo-data');
    const runs = path.join(work, 'demo-runs');
    const args = ['demo', '--data', data, '--clips', '60', '--epochs', '1', '--seed', '3', '--runs', runs];
    const result = egtea([...args, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.split).toBe('test');
    expect(document.runs.map((r: { run: string; loss: string; seed: number }) => [r.run, r.loss, r.seed])).toEqual([
      [path.join(runs, 'demo-cdb'), 'cdb', 3],
      [path.join(runs, 'demo-ce'), 'ce', 3],
    ]);
    // The same test clips, by the same groups, for both.
    const [cdb, ce] = document.runs;
    expect(cdb.clips).toBeGreaterThan(0);
    expect(ce.clips).toBe(cdb.clips);
    expect(Object.keys(cdb.groups)).toEqual(['majority', 'minority']);
    expect(ce.groups.minority.classes).toEqual(cdb.groups.minority.classes);
    expect(cdb.groups.majority.samples + cdb.groups.minority.samples).toBe(cdb.clips);
    expect(JSON.parse(fs.readFileSync(path.join(data, 'synth', 'synth.json'), 'utf8')).seed).toBe(3);
    for (const loss of ['cdb', 'ce']) {
      const info = JSON.parse(fs.readFileSync(path.join(runs, `demo-${loss}`, 'run.json'), 'utf8'));
      expect(info.pipeline.loss.name).toBe(loss);
      expect(info.pipeline.clips.transform.flipProbability).toBe(0);
    }
    expect(result.stderr).toMatch(/demo 5\/5/);
    expect(fs.existsSync(path.join(data, 'frames', 'manifest.jsonl'))).toBe(true);
    // Again, as text: every step finds its work done.
    const again = egtea(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/synth: .*60 skipped/);
    expect(again.stderr).not.toMatch(/epoch 1\/1: batch/);
    expect(again.stdout).toMatch(/demo-cdb +cdb +dynamic +3 +all +\d+ /);
    expect(again.stdout).toMatch(/demo-ce +ce +- +3 +all +\d+ /);
    expect(again.stdout).toMatch(/\n +minority \(14\) +\d+ /);
    // Two trainings, two evaluations and a rerun.
  }, 300_000);
});
