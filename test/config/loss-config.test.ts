import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import synth from '../../pipelines/synth.js';
import { addPipelineOptions, overridesFrom, type PipelineCommandOptions } from '../../src/cli/pipeline-options.js';
import { lossOptionHelp, lossOptionsTable, lossSettingOptions, resolvedLoss, type LossConfig } from '../../src/config/loss-config.js';
import { applyOverrides, pipelineKeys } from '../../src/config/overrides.js';
import { buildLoss, LOSSES, LOSS_NAMES } from '../../src/losses/registry.js';
import { validatePipeline } from '../../src/config/pipeline.js';

// One home per loss: a loss's file (src/losses/catalog/) holds its settings and defaults; the
// pipeline schema, the command line and the trainer all read them from the registry.
const counts = [600, 60, 6];
const labels = () => tf.tensor1d([0, 1, 2, 2, 1], 'int32');
const logits = () =>
  tf.tensor2d([
    [2, 0.5, -1],
    [0.1, 0.3, 0.2],
    [-0.5, 1.5, 0.4],
    [0.2, 0.2, 2.5],
    [1, -1, 0],
  ]);

function lossValue(config: LossConfig): number {
  const { loss, tracker } = buildLoss(config, { numClasses: 3, counts });
  tracker?.update([0.9, 0.4, 0.1], 1);
  // Epoch 6 (1-based) is past any DRW switch these configs set.
  loss.beginBatch({ epoch: 6, batch: 0 });
  const value = tf.tidy(() => loss(labels(), logits())).dataSync()[0]!;
  loss.dispose();
  tracker?.dispose();
  return value;
}

function commandLine(args: string[]): PipelineCommandOptions {
  const command = addPipelineOptions(new Command().exitOverride());
  command.parse(args, { from: 'user' });
  return command.opts<PipelineCommandOptions>();
}

describe('the loss registry', () => {
  it("each loss's defaults pass its own pipeline checks, and every loss builds and trains a finite value from them", () => {
    for (const name of LOSS_NAMES) {
      const loss = resolvedLoss({ name } as LossConfig);
      expect(() => validatePipeline({ ...synth, loss }, `defaults of ${name}`)).not.toThrow();
      expect(Number.isFinite(lossValue({ name } as LossConfig))).toBe(true);
    }
  });

  it('the pipeline takes exactly the settings each loss file declares', () => {
    const keys = pipelineKeys().filter((k) => k.key.startsWith('loss.') && k.key !== 'loss.name');
    for (const definition of LOSSES) {
      const taken = keys.filter((k) => k.losses === undefined || k.losses.includes(definition.name)).map((k) => k.key.slice('loss.'.length));
      expect(taken.sort(), definition.name).toEqual(Object.keys(definition.settings).sort());
    }
  });

  it('a setting reaches the loss', () => {
    expect(lossValue({ name: 'focal', gamma: 1 })).not.toBeCloseTo(lossValue({ name: 'focal' }), 3);
    expect(lossValue({ name: 'cdb', tau: 1, normalize: 'none' })).not.toBeCloseTo(lossValue({ name: 'cdb' }), 3);
    expect(lossValue({ name: 'logit-adjusted', laTau: 0.5 })).not.toBeCloseTo(lossValue({ name: 'logit-adjusted' }), 3);
  });
});

describe("the command line's loss options come from the registry", () => {
  it('one option per setting, naming the losses that take it and their defaults', () => {
    const options = new Map(lossSettingOptions().map((o) => [o.flag, o]));
    expect([...options.keys()]).toEqual([
      '--tau',
      '--tau-rule',
      '--normalize',
      '--reduction',
      '--min-difficulty',
      '--smoothing',
      '--gamma',
      '--beta',
      '--eql-lambda',
      '--eql-gamma',
      '--ldam-max-margin',
      '--ldam-scale',
      '--drw-epoch',
      '--la-tau',
    ]);
    const help = addPipelineOptions(new Command()).helpInformation();
    for (const flag of options.keys()) expect(help).toContain(`${flag} <value>`);
    expect(help).toMatch(/--reduction <value>\s+loss cdb, ifw, focal, cb, cb-focal, ldam:/);
    expect(lossOptionHelp(options.get('--reduction')!)).toMatch(/\(one of mean, weighted; default mean \(ldam: weighted\)\)$/);
    expect(lossOptionHelp(options.get('--la-tau')!)).toMatch(/^loss logit-adjusted: .*\(a number >= 0; default 1\)$/);
  });

  it("reads each as the pipeline key's type; a bad value names the option", () => {
    const p = (args: string[]) => applyOverrides(synth, overridesFrom(commandLine(args)));
    expect(p(['--loss', 'logit-adjusted', '--la-tau', '0.5']).loss).toEqual({ name: 'logit-adjusted', laTau: 0.5 });
    expect(p(['--loss', 'ldam', '--drw-epoch', 'null', '--ldam-scale', '10']).loss).toEqual({ name: 'ldam', drwEpoch: null, ldamScale: 10 });
    expect(p(['--tau', 'dynamic', '--tau-rule', 'official']).loss).toEqual({ name: 'cdb', tau: 'dynamic', tauRule: 'official' });
    expect(p(['--class-sampling', '0.5']).loader.classSampling).toBe(0.5);
    // A bad value is a usage error, found while the command line is parsed.
    expect(() => commandLine(['--tau', 'often'])).toThrow("option '--tau <value>' argument 'often' is invalid. 'often' must be a number >= 0 or 'dynamic'");
    expect(() => commandLine(['--la-tau', '-1'])).toThrow("argument '-1' is invalid. '-1' must be a number >= 0");
    expect(() => p(['--la-tau', '1'])).toThrow("command line: --la-tau: loss.laTau does not apply to loss 'cdb' (only to logit-adjusted)");
  });
});

describe("docs/long-tail.md's options table", () => {
  it("is lossOptionsTable('logit-adjusted')", () => {
    const page = fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', 'long-tail.md'), 'utf8');
    const start = page.indexOf('| option | `train` option | default | meaning |');
    expect(start).toBeGreaterThanOrEqual(0);
    expect(page.slice(start, page.indexOf('\n\n', start))).toBe(lossOptionsTable('logit-adjusted'));
  });
});
