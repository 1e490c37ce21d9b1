import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { lossSetup, type LossConfig } from '../../src/config/loss-config.js';
import { createLoss } from '../../src/losses/create-loss.js';
import { DifficultyTracker } from '../../src/losses/difficulty-tracker.js';

// The pipeline's defaults (src/config/loss-config.ts) and the losses' own (for library callers)
// must train the same thing: a loss built from lossSetup({ name }) equals createLoss(name, {}).
const counts = [600, 60, 6];
const labels = () => tf.tensor1d([0, 1, 2, 2, 1], 'int32');
const logits = () => tf.tensor2d([[2, 0.5, -1], [0.1, 0.3, 0.2], [-0.5, 1.5, 0.4], [0.2, 0.2, 2.5], [1, -1, 0]]);

function lossValue(config: LossConfig, useSetup: boolean): number {
  const setup = lossSetup(config);
  const tracker = setup.cdb ? new DifficultyTracker(3, useSetup ? setup.cdb : { tau: 'dynamic' }) : null;
  tracker?.update([0.9, 0.4, 0.1], 1);
  const loss = createLoss(setup.name, { numClasses: 3, counts, ...(tracker ? { tracker } : {}), ...(useSetup ? setup.options : {}) });
  // Epoch 6 (1-based) is past any DRW switch these configs set.
  loss.beginBatch({ epoch: 6, batch: 0 });
  const value = tf.tidy(() => loss(labels(), logits())).dataSync()[0]!;
  loss.dispose();
  tracker?.dispose();
  return value;
}

describe("lossSetup's defaults are the losses' own", () => {
  for (const name of ['cdb', 'ifw', 'focal', 'cb', 'cb-focal', 'ldam'] as const) {
    it(name, () => {
      const fromPipeline = lossValue({ name }, true);
      expect(Number.isFinite(fromPipeline)).toBe(true);
      expect(fromPipeline).toBeCloseTo(lossValue({ name }, false), 6);
    });
  }

  it('and a setting reaches the loss: focal gamma 1 is not gamma 2', () => {
    expect(lossValue({ name: 'focal', gamma: 1 }, true)).not.toBeCloseTo(lossValue({ name: 'focal' }, true), 3);
    expect(lossValue({ name: 'cdb', tau: 1, normalize: 'none' }, true)).not.toBeCloseTo(lossValue({ name: 'cdb' }, true), 3);
  });
});
