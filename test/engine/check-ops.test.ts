import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { checkOps, relativeError } from '../../src/engine/check-ops.js';
import { bindingDevice, currentImplementations } from '../../src/engine/dispatch.js';

describe('engine check: implementations against each other', () => {
  it('measures differences relative to the reference scale, and an unequal size as infinitely wrong', () => {
    const reference = tf.tensor1d([10, -20, 5]);
    expect(relativeError(tf.tensor1d([10, -20, 5]), reference)).toBe(0);
    expect(relativeError(tf.tensor1d([10, -19, 5]), reference)).toBeCloseTo(1 / 20, 6);
    // Below 1 the scale is 1: tiny values compare absolutely.
    expect(relativeError(tf.tensor1d([0.001]), tf.tensor1d([0]))).toBeCloseTo(0.001, 6);
    expect(relativeError(tf.tensor1d([1, 2]), reference)).toBe(Number.POSITIVE_INFINITY);
    expect(relativeError(tf.tensor1d([Number.NaN, -20, 5]), reference)).toBe(Number.POSITIVE_INFINITY);
  });

  it("finds egtea's kernels and TensorFlow's ops in agreement, forward and for every input's gradient", () => {
    const results = checkOps(bindingDevice());
    const choices = currentImplementations();
    // Every op whose chosen implementation is not TensorFlow's own is checked.
    const expected =
      [choices.groupedConv3d, choices.batchNorm, choices.maxPool3d].filter((c) => c === 'egtea-kernel').length + (bindingDevice() === 'gpu' ? 1 : 0);
    expect(results).toHaveLength(expected);
    for (const result of results) {
      expect(Object.keys(result.errors).length, result.op).toBeGreaterThanOrEqual(2);
      expect(result.ok, `${result.op}: ${JSON.stringify(result.errors)}`).toBe(true);
    }
    const names = results.map((r) => r.op);
    if (choices.batchNorm === 'egtea-kernel')
      expect(Object.keys(results[names.indexOf('batch norm + residual + ReLU (training)')]!.errors)).toEqual(['y', 'dx', 'dgamma', 'dbeta', 'dresidual']);
  });
});
