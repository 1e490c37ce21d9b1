import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { temporaryFolder } from '../../helpers.js';
import { writeCifar10Source } from '../../image-sources.js';
import { egtea } from '../../support/run-cli.js';

let work: string;
let source: string;

beforeAll(async () => {
  work = temporaryFolder('egtea-images-cli-');
  source = path.join(work, 'cifar-10-batches-bin');
  await writeCifar10Source(source, { train: 60, test: 2 });
});

describe('egtea images', () => {
  it('builds long-tailed CIFAR-10 with the default 50 validation images per class and reports the split sizes', () => {
    const out = path.join(work, 'cifar10-lt');
    const result = egtea(['images', '--dataset', 'cifar10-lt', '--source', source, '--out', out, '--imbalance', '5', '--seed', '4', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.seed).toBe(4);
    expect(summary.counts.validation).toEqual(new Array(10).fill(50));
    expect(summary.counts.train[0]).toBe(10);
    expect(summary.counts.train[9]).toBe(2);
    expect(fs.readFileSync(path.join(out, 'annotations', 'verb_idx.txt'), 'utf8').split('\n')[0]).toBe('airplane 1');
    // The built-in cifar10-lt pipeline trains on what egtea images wrote, here with Balanced Softmax and class-balanced sampling.
    const run = path.join(work, 'run');
    const trained = egtea([
      'train',
      '--pipeline',
      'cifar10-lt',
      '--data',
      work,
      '--out',
      run,
      '--epochs',
      '1',
      '--set',
      'schedule.batchSize=16',
      '--loss',
      'balanced-softmax',
      '--class-sampling',
      '0',
      '--json',
    ]);
    expect(trained.code, trained.stderr).toBe(0);
    const document = JSON.parse(trained.stdout);
    expect(document.loss).toEqual({ name: 'balanced-softmax' });
    expect(document.pipeline.loader.classSampling).toBe(0);
    expect(document.trainingCounts).toEqual(summary.counts.train);
  }, 120_000);

  it('exits 2 listing the datasets for an unknown one, and 1 naming the file for a missing source', () => {
    const unknown = egtea(['images', '--dataset', 'svhn', '--source', source]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/mnist-imbalanced, cifar10-lt, cifar100-lt/);
    const missing = egtea(['images', '--dataset', 'mnist-imbalanced', '--source', path.join(work, 'nothing'), '--out', path.join(work, 'm')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${path.join(work, 'nothing', 'train-images-idx3-ubyte')}: missing`);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});
