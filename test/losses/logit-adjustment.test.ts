import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { logitAdjustment, logPrior } from '../../src/losses/logit-adjustment.js';
import { createLoss } from '../../src/losses/registry.js';
import { SeededRandom } from '../../src/util/random.js';

// Balanced Softmax and the logit-adjusted loss against the same formula computed independently
// in float64: mean_i [log sum_c exp(z_ic + t log pi_c) - (z_iy + t log pi_y)], pi_c = n_c / N,
// and its gradient (softmax(z + t log pi) - onehot(y)) / batch.
const counts = [500, 120, 35, 8, 0];
const numClasses = counts.length;

function float64Reference(logits: number[][], labels: number[], t: number): { value: number; grad: number[][] } {
  const total = counts.reduce((a, b) => a + Math.max(b, 1), 0);
  const offsets = counts.map((n) => t * Math.log(Math.max(n, 1) / total));
  let value = 0;
  const grad = logits.map((row, i) => {
    const shifted = row.map((z, c) => z + offsets[c]!);
    const top = Math.max(...shifted);
    const sum = shifted.reduce((s, v) => s + Math.exp(v - top), 0);
    value += top + Math.log(sum) - shifted[labels[i]!]!;
    return shifted.map((v, c) => (Math.exp(v - top) / sum - (c === labels[i] ? 1 : 0)) / logits.length);
  });
  return { value: value / logits.length, grad };
}

function batch(seed: number): { logits: number[][]; labels: number[] } {
  const random = new SeededRandom(`logit-adjustment/${seed}`);
  const logits = Array.from({ length: 16 }, () => Array.from({ length: numClasses }, () => random.uniform(-6, 6)));
  return { logits, labels: logits.map(() => random.int(0, numClasses)) };
}

function measured(name: string, settings: Record<string, number>, logits: number[][], labels: number[]): { value: number; grad: number[][] } {
  const loss = createLoss(name, { numClasses, counts, ...settings });
  const z = tf.tensor2d(logits);
  const y = tf.tensor1d(labels, 'int32');
  const { value, grad } = tf.tidy(() => tf.valueAndGrad((x: tf.Tensor) => loss(y, x as tf.Tensor2D))(z));
  const result = { value: value.dataSync()[0]!, grad: grad.arraySync() as number[][] };
  tf.dispose([z, y, value, grad]);
  loss.dispose();
  return result;
}

// The float32 computation differs from float64 by rounding only (per-sample losses below ~20,
// float32 eps 1.2e-7); measured on these batches: at most 8e-7 (value) and 1e-8 (gradient).
const VALUE_TOLERANCE = 5e-6;
const GRAD_TOLERANCE = 1e-7;

describe('Balanced Softmax and the logit-adjusted loss, against float64', () => {
  for (const [name, settings, t] of [
    ['balanced-softmax', {}, 1],
    ['logit-adjusted', {}, 1],
    ['logit-adjusted', { laTau: 0.5 }, 0.5],
    ['logit-adjusted', { laTau: 2 }, 2],
    ['logit-adjusted', { laTau: 0 }, 0],
  ] as const) {
    it(`${name} ${JSON.stringify(settings)}: value and gradient`, () => {
      for (const seed of [1, 2, 3]) {
        const { logits, labels } = batch(seed);
        const expected = float64Reference(logits, labels, t);
        const got = measured(name, settings, logits, labels);
        expect(Math.abs(got.value - expected.value)).toBeLessThan(VALUE_TOLERANCE);
        got.grad.flat().forEach((g, k) => expect(Math.abs(g - expected.grad.flat()[k]!)).toBeLessThan(GRAD_TOLERANCE));
      }
    });
  }

  it('t = 0 is plain cross-entropy, t = 1 Balanced Softmax (the same value)', () => {
    const { logits, labels } = batch(4);
    expect(measured('logit-adjusted', { laTau: 0 }, logits, labels).value).toBeCloseTo(measured('ce', {}, logits, labels).value, 6);
    expect(measured('logit-adjusted', {}, logits, labels).value).toBe(measured('balanced-softmax', {}, logits, labels).value);
  });

  it('the prior: n_c / N, a class without samples counted as one; t must be >= 0', () => {
    const prior = logPrior([3, 1, 0]).map(Math.exp);
    expect(prior[0]).toBeCloseTo(3 / 5, 12);
    expect(prior[2]).toBeCloseTo(1 / 5, 12);
    expect(logitAdjustment([3, 1], 2)[1]).toBeCloseTo(2 * Math.log(1 / 4), 12);
    expect(() => logitAdjustment([3, 1], -1)).toThrow(/must be a number >= 0/);
    expect(() => createLoss('balanced-softmax', { numClasses: 2 })).toThrow("loss 'balanced-softmax' needs the training class counts");
  });
});
