import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readClassResults } from '../../src/eval/report-file.js';
import { train } from '../../src/train/trainer.js';
import { smallPipeline, smallSyntheticDataset } from '../synthetic-data.js';
import { egtea } from './run-cli.js';

let run: string;
let work: string;

beforeAll(async () => {
  const dataRoot = (await smallSyntheticDataset()).root;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-eval-'));
  run = path.join(work, 'run');
  await train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot, out: run });
});

describe('egtea eval', () => {
  it('reports the test split overall and by class group, and saves a report egtea weights can read', async () => {
    const result = egtea(['eval', '--run', run, '--groups', 'majority,minority', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.split).toBe('test');
    expect(document.overall.samples).toBe(document.clips);
    expect(document.groups.map((g: { name: string }) => g.name)).toEqual(['majority', 'minority']);
    expect(document.groups[0].metrics.samples + document.groups[1].metrics.samples).toBe(document.clips);
    expect(document.groups[0].classes).toHaveLength(5);
    for (const key of ['top1', 'top5', 'macroRecall', 'macroPrecision']) {
      expect(document.overall[key]).toBeGreaterThanOrEqual(0);
      expect(document.overall[key]).toBeLessThanOrEqual(1);
    }
    expect(document.overall.top5).toBeGreaterThanOrEqual(document.overall.top1);
    const saved = await readClassResults(path.join(run, 'eval-test.json'));
    expect(saved).toHaveLength(19);
    expect(saved.reduce((sum, c) => sum + c.support, 0)).toBe(document.clips);
    const weights = egtea(['weights', '--from', path.join(run, 'eval-test.json'), '--json']);
    expect(weights.code, weights.stderr).toBe(0);
    expect(JSON.parse(weights.stdout).classes).toHaveLength(19);
  });

  it('names a folder that is not a run, and an unknown group', () => {
    const missing = egtea(['eval', '--run', work]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${path.join(work, 'run.json')}: missing; is this a folder made by egtea train?`);
    const group = egtea(['eval', '--run', run, '--groups', 'majority,rare']);
    expect(group.code).toBe(1);
    expect(group.stderr).toMatch(/unknown group 'rare'/);
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
    const text = egtea(['compare', run]);
    expect(text.stdout).toMatch(/minority R/);
    const validation = egtea(['compare', run, '--split', 'validation']);
    expect(validation.code).toBe(1);
    expect(validation.stderr).toContain(`eval-validation.json: missing; run egtea eval --run ${run} --split validation first`);
  });
});

describe('egtea demo', () => {
  it('runs synth, prepare, train and eval end to end on a small set', () => {
    const data = path.join(work, 'demo-data');
    const out = path.join(work, 'demo-run');
    const result = egtea(['demo', '--data', data, '--clips', '60', '--epochs', '1', '--out', out, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.split).toBe('test');
    expect(document.clips).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/demo 4\/4/);
    expect(fs.existsSync(path.join(out, 'model.safetensors'))).toBe(true);
    expect(fs.existsSync(path.join(data, 'frames', 'manifest.jsonl'))).toBe(true);
  });
});
