import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createLoss, LOSS_NAMES } from '../../src/losses/registry.js';
import { DifficultyTracker } from '../../src/losses/difficulty-tracker.js';
import { equalizationLoss } from '../../src/losses/equalization.js';
import { ldamLoss } from '../../src/losses/ldam.js';
import { SeededRandom } from '../../src/util/random.js';

const LN2 = Math.log(2);
const CE_THREE_QUARTERS = -Math.log(0.75); // -log p when p = 3/4

function scalar(t: tf.Scalar): number {
  const value = t.dataSync()[0]!;
  t.dispose();
  return value;
}

const counts = [900, 90, 10];
const options = (tracker?: DifficultyTracker) => ({ numClasses: 3, counts, tracker, random: new SeededRandom(1), drwEpoch: 0 });

describe('losses on hand-worked values', () => {
  let owned: { dispose(): void }[] = [];
  afterEach(() => {
    owned.forEach((o) => o.dispose());
    owned = [];
  });

  it('ce: -log(3/4) for logits [0, ln 3] and label 1', () => {
    const loss = createLoss('ce', { numClasses: 2 });
    const value = tf.tidy(() => loss(tf.tensor1d([1], 'int32'), tf.tensor2d([[0, Math.log(3)]])));
    expect(scalar(value)).toBeCloseTo(CE_THREE_QUARTERS, 6);
  });

  it('focal (gamma 2): (1/4)^2 * -log(3/4)', () => {
    const loss = createLoss('focal', { numClasses: 2, gamma: 2 });
    const value = tf.tidy(() => loss(tf.tensor1d([1], 'int32'), tf.tensor2d([[0, Math.log(3)]])));
    expect(scalar(value)).toBeCloseTo(0.0625 * CE_THREE_QUARTERS, 6);
  });

  it('cdb reads the tracker: uniform weights before the first validation', () => {
    const tracker = new DifficultyTracker(2, { tau: 1, normalize: 'none' });
    owned.push(tracker);
    const labels = tf.tensor1d([0, 1, 1], 'int32');
    const logits = tf.tensor2d([
      [0, 0],
      [0, Math.log(3)],
      [0, Math.log(3)],
    ]);
    const mean = createLoss('cdb', { numClasses: 2, tracker, reduction: 'mean' });
    const weighted = createLoss('cdb', { numClasses: 2, tracker, reduction: 'weighted' });
    expect(scalar(mean(labels, logits))).toBeCloseTo((LN2 + 2 * CE_THREE_QUARTERS) / 3, 6);
    expect(scalar(weighted(labels, logits))).toBeCloseTo((LN2 + 2 * CE_THREE_QUARTERS) / 3, 6);
    tf.dispose([labels, logits]);
  });

  it('cdb weights after validation: accuracies 0.5 and 0 give weights 0.5 and 1 (tau 1)', () => {
    const tracker = new DifficultyTracker(2, { tau: 1, normalize: 'none' });
    owned.push(tracker);
    tracker.update([0.5, 0], 1);
    const labels = tf.tensor1d([0, 1, 1], 'int32');
    const logits = tf.tensor2d([
      [0, 0],
      [0, Math.log(3)],
      [0, Math.log(3)],
    ]);
    const weightedSum = 0.5 * LN2 + 2 * CE_THREE_QUARTERS;
    const mean = createLoss('cdb', { numClasses: 2, tracker, reduction: 'mean' });
    const weighted = createLoss('cdb', { numClasses: 2, tracker, reduction: 'weighted' });
    expect(scalar(mean(labels, logits))).toBeCloseTo(weightedSum / 3, 6);
    expect(scalar(weighted(labels, logits))).toBeCloseTo(weightedSum / 2.5, 6);
    tf.dispose([labels, logits]);
  });

  it('eql: the rare class gets no negative gradient when beta = 1', () => {
    const labels = tf.tensor1d([0], 'int32');
    const logits = tf.tensor2d([[0, 0]]);
    const mask = tf.tensor1d([0, 1]);
    // Each class's BCE at logit 0 is ln 2; beta = 1 drops class 1's term.
    expect(scalar(equalizationLoss(labels, logits, mask, 1))).toBeCloseTo(LN2, 6);
    expect(scalar(equalizationLoss(labels, logits, mask, 0))).toBeCloseTo(2 * LN2, 6);
    tf.dispose([labels, logits, mask]);
  });

  it('ldam: the true logit lowered by its margin, then scaled', () => {
    const labels = tf.tensor1d([0], 'int32');
    const logits = tf.tensor2d([[1.5, 0]]);
    const margins = tf.tensor1d([0.5, 0.25]);
    // (1.5 - 0.5) * 2 = 2 against 0: -log(e^2 / (e^2 + 1)) = log(1 + e^-2)
    expect(scalar(ldamLoss(labels, logits, margins, 2, null))).toBeCloseTo(Math.log(1 + Math.exp(-2)), 6);
    tf.dispose([labels, logits, margins]);
  });

  it('ldam switches to class-balanced weights at the DRW epoch told by beginBatch', () => {
    const loss = createLoss('ldam', { numClasses: 3, counts, drwEpoch: 2 });
    owned.push(loss);
    const labels = tf.tensor1d([2], 'int32');
    const logits = tf.tensor2d([[0.3, -0.2, 0.1]]);
    const before = scalar(loss(labels, logits));
    loss.beginBatch({ epoch: 3, batch: 0 }); // 1-based epoch 3 = 0-based 2
    const after = scalar(loss(labels, logits));
    // One sample: the weighted reduction divides its weight out again, so the value is unchanged...
    expect(after).toBeCloseTo(before, 5);
    // ...but in a mixed batch the rare class now counts for more: cb weights (beta 0.9999) of 900 and 10 clips.
    const mixed = tf.tensor1d([0, 2], 'int32');
    const mixedLogits = tf.tensor2d([
      [0.3, -0.2, 0.1],
      [0.3, -0.2, 0.1],
    ]);
    loss.beginBatch({ epoch: 2, batch: 0 });
    const plain = scalar(loss(mixed, mixedLogits));
    loss.beginBatch({ epoch: 3, batch: 0 });
    const reweighted = scalar(loss(mixed, mixedLogits));
    const margins = [900, 90, 10].map((n) => n ** -0.25);
    const m = margins.map((x) => (0.5 * x) / Math.max(...margins));
    const ce = (label: number) => {
      const z = [0.3, -0.2, 0.1].map((v, c) => 30 * (v - (c === label ? m[label]! : 0)));
      return Math.log(z.reduce((sum, v) => sum + Math.exp(v - z[label]!), 0));
    };
    const raw = [900, 90, 10].map((n) => (1 - 0.9999) / (1 - 0.9999 ** n));
    const w = raw.map((x) => (3 * x) / raw.reduce((a, b) => a + b, 0));
    expect(plain).toBeCloseTo((ce(0) + ce(2)) / 2, 4);
    expect(reweighted).toBeCloseTo((w[0]! * ce(0) + w[2]! * ce(2)) / (w[0]! + w[2]!), 4);
    tf.dispose([labels, logits, mixed, mixedLogits]);
  });

  // Labels [0, 2] on zero logits: every sample's cross-entropy is ln 3, p_t = 1/3.
  const zeroBatch = () => ({ labels: tf.tensor1d([0, 2], 'int32'), logits: tf.zeros([2, 3]) as tf.Tensor2D });
  const LN3 = Math.log(3);

  it('ifw: weights 1/n scaled to sum to 3, for counts 900, 90, 10 exactly 3/101, 30/101, 270/101', () => {
    const loss = createLoss('ifw', { numClasses: 3, counts: [900, 90, 10] });
    owned.push(loss);
    const { labels, logits } = zeroBatch();
    expect(scalar(loss(labels, logits))).toBeCloseTo(((3 / 101 + 270 / 101) / 2) * LN3, 6);
    tf.dispose([labels, logits]);
  });

  // Class-balanced, beta 0.5, counts 1, 2, 3: (1 - b) / (1 - b^n) = 1, 2/3, 4/7, scaled to sum to 3: 63/47, 42/47, 36/47.
  it('cb: effective-number weights, worked by hand for beta 0.5', () => {
    const loss = createLoss('cb', { numClasses: 3, counts: [1, 2, 3], beta: 0.5 });
    owned.push(loss);
    const { labels, logits } = zeroBatch();
    expect(scalar(loss(labels, logits))).toBeCloseTo(((63 / 47 + 36 / 47) / 2) * LN3, 6);
    tf.dispose([labels, logits]);
  });

  it('cb-focal: the same weights times the focal factor (1 - 1/3)^2', () => {
    const loss = createLoss('cb-focal', { numClasses: 3, counts: [1, 2, 3], beta: 0.5, gamma: 2 });
    owned.push(loss);
    const { labels, logits } = zeroBatch();
    expect(scalar(loss(labels, logits))).toBeCloseTo(((63 / 47 + 36 / 47) / 2) * (4 / 9) * LN3, 6);
    tf.dispose([labels, logits]);
  });

  it("eql: lambda 0.2 marks only class 0 (1/6 of the clips) rare; a batch's draw comes from beginBatch's generator", () => {
    const loss = createLoss('eql', { numClasses: 3, counts: [1, 2, 3], eqlLambda: 0.2, eqlGamma: 0.5 });
    owned.push(loss);
    const labels = tf.tensor1d([1], 'int32');
    const logits = tf.zeros([1, 3]) as tf.Tensor2D;
    // Each class's sigmoid cross-entropy at logit 0 is ln 2; beta = 1 drops the rare negative class 0.
    loss.beginBatch({ epoch: 1, batch: 0, random: { bernoulli: () => true } });
    expect(scalar(loss(labels, logits))).toBeCloseTo(2 * LN2, 6);
    loss.beginBatch({ epoch: 1, batch: 1, random: { bernoulli: () => false } });
    expect(scalar(loss(labels, logits))).toBeCloseTo(3 * LN2, 6);
    // Class 0's own sample is never suppressed.
    loss.beginBatch({ epoch: 1, batch: 2, random: { bernoulli: () => true } });
    const own = tf.tensor1d([0], 'int32');
    expect(scalar(loss(own, logits))).toBeCloseTo(3 * LN2, 6);
    tf.dispose([labels, logits, own]);
  });

  it("cdb's endEpoch updates the tracker and returns the new weights", () => {
    const tracker = new DifficultyTracker(2, { tau: 1, normalize: 'none' });
    owned.push(tracker);
    const loss = createLoss('cdb', { numClasses: 2, tracker });
    expect(loss.endEpoch(1, [0.5, 0])).toEqual({ tau: 1, weights: [0.5, 1], warnings: [] });
    expect(Array.from(tracker.weightsTensor().dataSync())).toEqual([0.5, 1]);
    expect(createLoss('ce', { numClasses: 2 }).endEpoch(1, [0.5, 0])).toBeNull();
  });

  it('the weighted reduction of a batch whose classes all weigh 0 is 0 with zero gradients, not 0/0', () => {
    const tracker = new DifficultyTracker(2, { tau: 1, normalize: 'none' });
    owned.push(tracker);
    tracker.update([1, 0], 1); // class 0 perfect: weight 0
    const loss = createLoss('cdb', { numClasses: 2, tracker, reduction: 'weighted' });
    const labels = tf.tensor1d([0, 0], 'int32');
    const logits = tf.tensor2d([
      [0.2, 0.1],
      [-1, 2],
    ]);
    const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => loss(labels, z as tf.Tensor2D))(logits);
    expect(value.dataSync()[0]).toBe(0);
    expect(Array.from(grad.dataSync()).map(Math.abs)).toEqual([0, 0, 0, 0]);
    tf.dispose([labels, logits, value, grad]);
  });

  it('refuses an unknown loss and lists the choices', () => {
    expect(() => createLoss('hinge', { numClasses: 2 })).toThrow(/ce, cdb, ifw/);
    expect(() => createLoss('cb', { numClasses: 2 })).toThrow(/class counts/);
  });
});

describe.each(LOSS_NAMES)('%s on extreme logits', (name) => {
  it('gives a finite loss and finite gradients that flow only to the logits', () => {
    const tracker = new DifficultyTracker(3, { tau: 'dynamic' });
    tracker.update([1, 0.5, 0], 1);
    const loss = createLoss(name, options(tracker));
    const labels = tf.tensor1d([0, 1, 2, 2], 'int32');
    const logits = tf.tensor2d([
      [100, -100, 0],
      [-100, 100, 100],
      [100, -100, -100],
      [0, 0, 100],
    ]);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => loss(labels, z as tf.Tensor2D))(logits);
      return { value: tf.keep(value), grads: tf.keep(grad) };
    });
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(Array.from(grads.dataSync()).every(Number.isFinite)).toBe(true);
    // The class weights are constants: not variables, untouched by the step.
    expect(tracker.weightsTensor()).not.toBeInstanceOf(tf.Variable);
    tf.dispose([value, grads]);
    expect(tf.memory().numTensors).toBe(before);
    loss.dispose();
    tracker.dispose();
    tf.dispose([labels, logits]);
  });
});
