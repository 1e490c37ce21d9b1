import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import mnistImbalanced from '../../pipelines/mnist-imbalanced.js';
import synth from '../../pipelines/synth.js';
import { cdbOptionsTable, resolvedLoss } from '../../src/config/loss-config.js';
import { applyOverrides, optionName, parseSetArgument, pipelineKeys, setPipelineValue } from '../../src/config/overrides.js';
import { upgradeLegacyPipeline } from '../../src/config/legacy-pipeline.js';
import { readRunInfo } from '../../src/eval/evaluate-run.js';
import { resolvePipeline } from '../../src/cli/resolve-pipeline.js';
import type { Pipeline } from '../../src/config/pipeline.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-config-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const focalPipeline: Pipeline = { ...synth, loss: { name: 'focal', gamma: 1, reduction: 'weighted' } };

describe('applyOverrides: the one way a command changes a pipeline', () => {
  it("keeps a loss's own settings when the command line names the same loss (focal gamma 1 stays 1)", () => {
    const result = applyOverrides(focalPipeline, { loss: 'focal', epochs: 3 });
    expect(result.loss).toEqual({ name: 'focal', gamma: 1, reduction: 'weighted' });
    expect(result.schedule.epochs).toBe(3);
    expect(resolvedLoss(result.loss)).toEqual({ name: 'focal', gamma: 1, reduction: 'weighted' });
    // The input is not changed.
    expect(focalPipeline.schedule.epochs).toBe(synth.schedule.epochs);
  });

  it('a new loss keeps the settings it takes and drops the others', () => {
    expect(applyOverrides(focalPipeline, { loss: 'cb-focal' }).loss).toEqual({ name: 'cb-focal', gamma: 1, reduction: 'weighted' });
    expect(applyOverrides(focalPipeline, { loss: 'cdb', tau: 1 }).loss).toEqual({ name: 'cdb', reduction: 'weighted', tau: 1 });
    expect(applyOverrides(synth, { loss: 'ce' }).loss).toEqual({ name: 'ce' });
  });

  it('sets every CDB option, and refuses one on a loss that does not read it, naming the option', () => {
    const cdb = applyOverrides(synth, { tau: 0.5, tauRule: 'official', normalize: 'none', reduction: 'weighted', minDifficulty: 0.1, smoothing: 0.3 });
    expect(cdb.loss).toEqual({ name: 'cdb', tau: 0.5, tauRule: 'official', normalize: 'none', reduction: 'weighted', minDifficulty: 0.1, smoothing: 0.3 });
    expect(resolvedLoss(cdb.loss)).toEqual({
      name: 'cdb',
      reduction: 'weighted',
      tau: 0.5,
      tauRule: 'official',
      normalize: 'none',
      minDifficulty: 0.1,
      smoothing: 0.3,
    });
    expect(() => applyOverrides(focalPipeline, { tau: 1 })).toThrow(
      "command line: --tau: loss.tau does not apply to loss 'focal' (only to cdb); focal takes gamma, reduction",
    );
    expect(() => applyOverrides(synth, { loss: 'ce', smoothing: 0.5 })).toThrow(
      "command line: --smoothing: loss.smoothing does not apply to loss 'ce' (only to cdb)",
    );
    expect(() => applyOverrides(synth, { smoothing: 1 })).toThrow('command line: --smoothing: loss.smoothing must be a number in [0, 1)');
    expect(() => applyOverrides(synth, { minDifficulty: 2 }, 'demo options')).toThrow(
      'demo options: --min-difficulty: loss.minDifficulty must be a number in [0, 1]',
    );
  });

  it('seed 0 is a seed; --set pairs apply last, in order', () => {
    const result = applyOverrides(synth, { seed: 0, set: ['schedule.learningRate=0.5', 'schedule.milestones=3,5', 'schedule.learningRate=0.25'] });
    expect(result.seed).toBe(0);
    expect(result.schedule.learningRate).toBe(0.25);
    expect(result.schedule.milestones).toEqual([3, 5]);
  });

  it('option names follow the pipeline keys', () => {
    expect(optionName('minDifficulty')).toBe('--min-difficulty');
    expect(optionName('tauRule')).toBe('--tau-rule');
  });
});

describe('setPipelineValue: one dotted key, typed by the schema', () => {
  it('reads the value as the type the key holds', () => {
    expect(setPipelineValue(synth, 'schedule.learningRate', '0.01').schedule.learningRate).toBe(0.01);
    expect(setPipelineValue(synth, 'schedule.milestones', '[2, 4]').schedule.milestones).toEqual([2, 4]);
    expect(setPipelineValue(synth, 'schedule.milestones', '').schedule.milestones).toEqual([]);
    expect(setPipelineValue(synth, 'loss.tau', 'dynamic').loss).toEqual({ name: 'cdb', tau: 'dynamic' });
    expect(setPipelineValue(synth, 'loss.tau', '1.5').loss).toEqual({ name: 'cdb', tau: 1.5 });
    expect(setPipelineValue(synth, 'dataset.validationSubjects', 'P01-P03').dataset.validationSubjects).toBe('P01-P03');
    expect(setPipelineValue(mnistImbalanced, 'model.initializer', 'he-normal').model).toEqual({ arch: 'lenet5', initializer: 'he-normal' });
    expect(setPipelineValue({ ...synth, loss: { name: 'ldam', drwEpoch: 3 } }, 'loss.drwEpoch', 'null').loss).toEqual({ name: 'ldam', drwEpoch: null });
    const focal = setPipelineValue(synth, 'loss.name', 'focal');
    expect(setPipelineValue(focal, 'loss.gamma', '1').loss).toEqual({ name: 'focal', gamma: 1 });
  });

  it('refuses an unknown key with the nearest known one, a bad value with what the key needs', () => {
    expect(() => setPipelineValue(synth, 'schedule.learningrate', '0.1')).toThrow(
      "--set schedule.learningrate=0.1: 'schedule.learningrate' is not a pipeline setting; did you mean 'schedule.learningRate'?",
    );
    expect(() => setPipelineValue(synth, 'learningRate', '0.1')).toThrow("did you mean 'schedule.learningRate'?");
    expect(() => setPipelineValue(synth, 'loss.gamma', '1')).toThrow("--set loss.gamma=1: loss.gamma does not apply to loss 'cdb' (only to focal, cb-focal)");
    expect(() => setPipelineValue(synth, 'schedule.learningRate', 'fast')).toThrow(
      '--set schedule.learningRate=fast: schedule.learningRate must be a number > 0',
    );
    expect(() => setPipelineValue(synth, 'schedule.epochs', '2.5')).toThrow('schedule.epochs must be a positive whole number');
    expect(() => setPipelineValue(synth, 'schedule.milestones', '3,x')).toThrow('schedule.milestones must be a list of positive whole numbers');
    expect(() => setPipelineValue(synth, 'schedule', '1')).toThrow("'schedule' is a group of settings; set one of: schedule.epochs,");
    expect(() => setPipelineValue(synth, 'schedule.epochs.x', '1')).toThrow("'schedule.epochs.x': schedule.epochs holds a value, not settings");
    expect(() => setPipelineValue(synth, 'schedule.accumulation', '3')).toThrow(
      '--set schedule.accumulation=3: schedule.accumulation must divide batchSize (16)',
    );
    expect(() => parseSetArgument('schedule.learningRate')).toThrow("--set 'schedule.learningRate': write key=value");
    expect(parseSetArgument('dataset.validationSubjects=P01=P02')).toEqual({ key: 'dataset.validationSubjects', text: 'P01=P02' });
  });
});

describe('pipelineKeys: what --set takes', () => {
  it('lists every key once, with its type and the losses that take a loss setting', () => {
    const keys = new Map(pipelineKeys().map((k) => [k.key, k]));
    expect(keys.get('schedule.learningRate')).toMatchObject({ expects: 'a number > 0' });
    expect(keys.get('schedule.learningRate')!.losses).toBeUndefined();
    expect(keys.get('loss.name')).toMatchObject({ expects: 'one of ce, cdb, ifw, focal, cb, cb-focal, eql, ldam, balanced-softmax, logit-adjusted' });
    expect(keys.get('loss.gamma')).toMatchObject({ expects: 'a number >= 0', losses: ['focal', 'cb-focal'] });
    expect(keys.get('loss.smoothing')).toMatchObject({ expects: 'a number in [0, 1)', losses: ['cdb'] });
    expect(keys.get('seed')).toMatchObject({ expects: 'a whole number >= 0' });
    expect(keys.size).toBe(pipelineKeys().length);
  });
});

describe('resolvedLoss: a loss block with every default filled in', () => {
  it('so run summaries show what trained', () => {
    expect(resolvedLoss({ name: 'cdb' })).toEqual({
      name: 'cdb',
      reduction: 'mean',
      tau: 'dynamic',
      tauRule: 'paper',
      normalize: 'classes',
      minDifficulty: 0,
      smoothing: 0,
    });
    expect(resolvedLoss({ name: 'ldam' })).toEqual({ name: 'ldam', ldamMaxMargin: 0.5, ldamScale: 30, drwEpoch: null, beta: 0.9999, reduction: 'weighted' });
    expect(resolvedLoss({ name: 'eql', eqlGamma: 0.5 })).toEqual({ name: 'eql', eqlLambda: 1.76e-3, eqlGamma: 0.5 });
    expect(resolvedLoss({ name: 'focal' })).toEqual({ name: 'focal', gamma: 2, reduction: 'mean' });
    expect(resolvedLoss({ name: 'logit-adjusted' })).toEqual({ name: 'logit-adjusted', laTau: 1 });
    expect(resolvedLoss({ name: 'ce' })).toEqual({ name: 'ce' });
  });
});

describe('resolvePipeline', () => {
  it('finds a built-in by name, a module and a JSON file; names what is wrong', async () => {
    expect(await resolvePipeline('synth')).toBe(synth);
    const json = path.join(work, 'mine.json');
    fs.writeFileSync(json, JSON.stringify({ ...synth, loss: { name: 'focal', gamma: 1 } }));
    expect((await resolvePipeline(json)).loss).toEqual({ name: 'focal', gamma: 1 });
    const runJson = path.join(work, 'run.json');
    fs.writeFileSync(runJson, JSON.stringify({ pipeline: { ...synth, seed: 4 }, classes: ['a'] }));
    expect((await resolvePipeline(runJson)).seed).toBe(4);
    const typo = path.join(work, 'typo.json');
    fs.writeFileSync(typo, JSON.stringify({ ...synth, schedule: { ...synth.schedule, learningrate: 1 } }));
    await expect(resolvePipeline(typo)).rejects.toThrow(`${typo}: schedule.learningrate is not a setting; did you mean 'schedule.learningRate'?`);
    const module = path.join(work, 'mine.mjs');
    fs.writeFileSync(module, `export default ${JSON.stringify({ ...synth, loss: { name: 'ldam', gamma: 2 } })};\n`);
    await expect(resolvePipeline(module)).rejects.toThrow(`${module}: loss.gamma does not apply to loss 'ldam'`);
    await expect(resolvePipeline('synht')).rejects.toThrow(
      "unknown pipeline 'synht'; built in: egtea, synth, mnist-imbalanced, cifar10-lt, cifar100-lt, imagenet-lt, fashion-mnist (did you mean 'synth'?)",
    );
    await expect(resolvePipeline('nope')).rejects.toThrow(
      "unknown pipeline 'nope'; built in: egtea, synth, mnist-imbalanced, cifar10-lt, cifar100-lt, imagenet-lt, fashion-mnist, or give a .js/.mjs/.json file",
    );
    fs.writeFileSync(path.join(work, 'broken.json'), '{');
    await expect(resolvePipeline(path.join(work, 'broken.json'))).rejects.toThrow(/broken\.json: not JSON/);
  });
});

describe('a pipeline module that never finishes loading, or keeps egtea running', () => {
  const pipelineText = JSON.stringify({ ...synth, seed: 9 });

  it('a top-level await that never settles is named at once', async () => {
    const module = path.join(work, 'never.mjs');
    fs.writeFileSync(module, `await new Promise(() => {});\nexport default ${pipelineText};\n`);
    await expect(resolvePipeline(module)).rejects.toThrow(
      `${module}: cannot load the pipeline (its top-level await never settles: the module waits on a promise nothing resolves)`,
    );
  });

  it('one that waits on something alive (a timer) is stopped after the given time, naming it', async () => {
    const module = path.join(work, 'waits.mjs');
    fs.writeFileSync(module, `setInterval(() => {}, 1000);\nawait new Promise(() => {});\nexport default ${pipelineText};\n`);
    const started = Date.now();
    await expect(resolvePipeline(module, { moduleSeconds: 1 })).rejects.toThrow(
      `${module}: cannot load the pipeline (it did not finish loading within 1 s; a top-level await that waits for something that never comes?)`,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('one that loads but leaves a timer running gives its pipeline, and the timer ends with its worker', async () => {
    const module = path.join(work, 'timer.mjs');
    fs.writeFileSync(module, `setInterval(() => {}, 1000);\nexport default ${pipelineText};\n`);
    expect((await resolvePipeline(module)).seed).toBe(9);
    // In a process of its own: it exits once done, instead of running the module's timer forever.
    const exited = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `const { resolvePipeline } = await import(${JSON.stringify(path.resolve('src/cli/resolve-pipeline.ts'))}); console.log((await resolvePipeline(${JSON.stringify(module)})).seed);`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(exited.signal, exited.stderr).toBeNull();
    expect(exited.stdout.trim()).toBe('9');
  });
});

describe("docs/training.md's CDB options table", () => {
  it('is cdbOptionsTable(), one row per CDB setting of the pipeline', () => {
    const page = fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', 'training.md'), 'utf8');
    const start = page.indexOf('| option | `train` option | default | meaning |');
    expect(start).toBeGreaterThanOrEqual(0);
    expect(page.slice(start, page.indexOf('\n\n', start))).toBe(cdbOptionsTable());
    expect(
      cdbOptionsTable()
        .split('\n')
        .slice(2)
        .map((row) => row.split('`')[1]),
    ).toEqual(['tau', 'tauRule', 'normalize', 'reduction', 'minDifficulty', 'smoothing']);
  });
});

describe('run.json from before each loss had its own settings', () => {
  it('is read in the new layout: settings move into the loss, tau stays with CDB only', () => {
    const old = (loss: unknown) => ({ ...synth, loss }) as unknown;
    expect((upgradeLegacyPipeline(old({ name: 'ce', tau: 'dynamic' })) as Pipeline).loss).toEqual({ name: 'ce' });
    expect((upgradeLegacyPipeline(old({ name: 'focal', tau: 1, settings: { gamma: 1, eqlLambda: 0.1 } })) as Pipeline).loss).toEqual({
      name: 'focal',
      gamma: 1,
    });
    expect((upgradeLegacyPipeline(old({ name: 'cdb', tau: 0.5, settings: { gamma: 1 } })) as Pipeline).loss).toEqual({ name: 'cdb', tau: 0.5 });
    const current = { ...synth, loss: { name: 'cdb', tau: 1 } };
    expect(upgradeLegacyPipeline(current)).toBe(current);
  });

  it('an older CE run folder still reads for eval and compare', async () => {
    const run = path.join(work, 'old-ce-run');
    fs.mkdirSync(run);
    fs.writeFileSync(
      path.join(run, 'run.json'),
      JSON.stringify({
        pipeline: { ...synth, loss: { name: 'ce', tau: 'dynamic' } },
        dataRoot: work,
        seed: 1,
        classes: ['a', 'b'],
        trainingCounts: [2, 1],
        groups: { majority: [0], minority: [1] },
      }),
    );
    expect((await readRunInfo(run)).pipeline.loss).toEqual({ name: 'ce' });
  });
});
