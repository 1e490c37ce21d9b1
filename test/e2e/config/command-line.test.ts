import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolvePipeline } from '../../../src/cli/resolve-pipeline.js';
import { egtea } from '../../support/run-cli.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-config-cli-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('train: command-line overrides are checked before anything runs', () => {
  it('refuses a CDB option on another loss and an unknown --set key, naming them', () => {
    const tau = egtea(['train', '--loss', 'ce', '--tau', '1', '--data', work, '--out', path.join(work, 'a')]);
    expect(tau.code).toBe(1);
    expect(tau.stderr.trim()).toBe("egtea: command line: --tau: loss.tau does not apply to loss 'ce' (only to cdb); ce takes no settings");
    const set = egtea(['train', '--set', 'schedule.learningrate=0.1', '--data', work, '--out', path.join(work, 'b')]);
    expect(set.code).toBe(1);
    expect(set.stderr.trim()).toBe(
      "egtea: command line: --set schedule.learningrate=0.1: 'schedule.learningrate' is not a pipeline setting; did you mean 'schedule.learningRate'?",
    );
    expect(fs.existsSync(path.join(work, 'a'))).toBe(false);
  });

  it('accepts seed 0 as pipelines do (the run goes on to look for its data); a negative seed is a usage error', () => {
    const zero = egtea(['train', '--seed', '0', '--smoothing', '0.5', '--data', work, '--out', path.join(work, 'c')]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/synth\/annotations: no such folder/);
    const negative = egtea(['train', '--seed', '-1']);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toMatch(/'-1' is not a seed \(a whole number >= 0\)/);
  });
});

describe('egtea pipeline: a pipeline as train would run it', () => {
  it('applies the same options as train and prints JSON that --pipeline reads back', async () => {
    const run = egtea([
      'pipeline',
      '--pipeline',
      'mnist-imbalanced',
      '--loss',
      'focal',
      '--set',
      'loss.gamma=1',
      '--initializer',
      'he-normal',
      '--seed',
      '0',
      '--epochs',
      '40',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const pipeline = JSON.parse(run.stdout);
    expect(pipeline).toMatchObject({
      name: 'mnist-imbalanced',
      loss: { name: 'focal', gamma: 1 },
      model: { arch: 'lenet5', initializer: 'he-normal' },
      seed: 0,
      schedule: { epochs: 40, learningRate: 0.001 },
    });
    const file = path.join(work, 'mine.json');
    fs.writeFileSync(file, run.stdout);
    expect(await resolvePipeline(file)).toEqual(pipeline);
    const keys = egtea(['pipeline', '--keys', '--json']);
    expect(keys.code, keys.stderr).toBe(0);
    expect(JSON.parse(keys.stdout)).toContainEqual(expect.objectContaining({ key: 'loss.gamma', expects: 'a number >= 0', losses: ['focal', 'cb-focal'] }));
  });
});

describe('EGTEA_BACKEND reaches the commands', () => {
  it("is the global --backend's default, and a bogus value is refused naming the variable", () => {
    const cpu = egtea(['engine', '--json'], { EGTEA_BACKEND: 'cpu' });
    expect(cpu.code, cpu.stderr).toBe(0);
    expect(JSON.parse(cpu.stdout)).toMatchObject({ backend: 'cpu', requested: 'cpu' });
    const bogus = egtea(['engine', '--json'], { EGTEA_BACKEND: 'bogus' });
    expect(bogus.code).toBe(2);
    expect(bogus.stdout).toBe('');
    expect(bogus.stderr).toContain("value 'bogus' from env 'EGTEA_BACKEND' is invalid. Allowed choices are auto, tensorflow, cpu.");
  });
});
