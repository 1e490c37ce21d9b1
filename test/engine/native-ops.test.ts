import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeTrainingBatchNorm } from '../../src/engine/tensorflow-batch-norm.js';
import { biasActivation, type Activation } from '../../src/engine/bias-activation.js';
import { matMul } from '../../src/engine/mat-mul.js';
import { maxPool2d } from '../../src/engine/max-pool.js';
import { softmaxCrossEntropy } from '../../src/engine/softmax-cross-entropy.js';
import { difference } from '../helpers.js';
import { expectWithinNoise, reversedBatch } from '../noise-floor.js';

const active = tf.getBackend();

/** Puts a tensor with a batch (first) axis in the order a run takes: as drawn, or reversed (its sums over the batch then round otherwise). */
type Order = <T extends tf.Tensor>(t: T) => T;
const asDrawn: Order = (t) => t;

/**
 * Runs fn on the active backend and on the pure-JS one; returns both results as arrays, and each
 * result's noise floor: the active backend on the batch in reverse order (fn applies `order` to
 * every input and result with a batch axis). The pure-JS backend sums in float64, so reordering
 * it would show almost nothing; TensorFlow's float32 sums show the rounding any float32 order has.
 */
async function onBothBackends(fn: (order: Order) => tf.Tensor[]): Promise<{ ours: Float32Array[]; js: Float32Array[]; floors: number[] }> {
  // Were the native engine not loaded, this would compare pure JS with itself and pass.
  if ((process.env.EGTEA_BACKEND ?? 'auto') !== 'cpu') expect(active, 'the native TensorFlow engine did not load').toBe('tensorflow');
  const read = (order: Order) =>
    tf
      .tidy(() => fn(order))
      .map((t) => {
        const values = t.dataSync() as Float32Array;
        t.dispose();
        return Float32Array.from(values);
      });
  const ours = read(asDrawn);
  const floors = read(reversedBatch).map((values, i) => relativeDifference(values, ours[i]!));
  await tf.setBackend('cpu');
  try {
    return { ours, js: read(asDrawn), floors };
  } finally {
    await tf.setBackend(active);
  }
}

/** test/helpers.ts' relative difference of two results read back. */
function relativeDifference(actual: Float32Array, expected: Float32Array): number {
  return tf.tidy(() => difference(tf.tensor(actual), tf.tensor(expected)).rel);
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function expectClose(result: { ours: Float32Array[]; js: Float32Array[]; floors: number[] }): void {
  expect(result.ours.length).toBe(result.js.length);
  result.ours.forEach((values, i) => expectWithinNoise(relativeDifference(values, result.js[i]!), result.floors[i]!, `result ${i}`));
}

afterAll(async () => {
  await tf.setBackend(active);
});

describe('biasActivation (native BiasAdd/Relu with ReluGrad/BiasAddGrad backward)', () => {
  const cases: { shape: number[]; activation: Activation; bias: boolean }[] = [
    { shape: [4, 5, 5, 3], activation: 'relu', bias: true },
    { shape: [6, 7], activation: 'relu', bias: true },
    { shape: [6, 7], activation: 'linear', bias: true },
    { shape: [2, 3, 4, 4, 5], activation: 'relu', bias: false },
  ];
  for (const { shape, activation, bias } of cases) {
    it(`${activation}, ${bias ? 'with' : 'without'} bias, on [${shape.join(',')}]: values and gradients equal the tfjs composite`, async () => {
      const channels = shape[shape.length - 1]!;
      const result = await onBothBackends((order) => {
        const x = order(tf.randomNormal(shape, 0, 1, 'float32', 11));
        const b = tf.randomNormal([channels], 0, 1, 'float32', 12) as tf.Tensor1D;
        const dy = order(tf.randomNormal(shape, 0, 1, 'float32', 13));
        if (!bias) {
          const f = (a: tf.Tensor) => biasActivation(a, null, activation);
          return [order(f(x)), order(tf.grad(f)(x, dy))];
        }
        const f = (a: tf.Tensor, c: tf.Tensor) => biasActivation(a, c as tf.Tensor1D, activation);
        const [dx, db] = tf.grads(f)([x, b], dy);
        return [order(f(x, b)), order(dx!), db!];
      });
      expectClose(result);
    });
  }

  it('the gradient of relu is zero where the output is zero and dy where it is positive', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[-2, -0.5, 0.5, 3]]);
      const b = tf.tensor1d([0, 0, 0, 0]);
      const [dx, db] = tf.grads((a: tf.Tensor, c: tf.Tensor) => biasActivation(a, c as tf.Tensor1D, 'relu'))([x, b], tf.tensor2d([[1, 2, 3, 4]]));
      expect(Array.from(dx!.dataSync())).toEqual([0, 0, 3, 4]);
      expect(Array.from(db!.dataSync())).toEqual([0, 0, 3, 4]);
    });
  });
});

describe('softmaxCrossEntropy (one native op forward and back)', () => {
  it('equals -log softmax at the label, with the same gradient, on both backends', async () => {
    const result = await onBothBackends((order) => {
      const logits = order(tf.randomNormal([9, 5], 0, 3, 'float32', 14) as tf.Tensor2D);
      const labels = order(tf.tensor1d([0, 1, 2, 3, 4, 4, 3, 2, 1], 'int32'));
      const dy = order(tf.randomUniform([9], 0.5, 2, 'float32', 15));
      const f = (l: tf.Tensor) => softmaxCrossEntropy(labels, l as tf.Tensor2D);
      return [order(f(logits)), order(tf.grad(f)(logits, dy))];
    });
    expectClose(result);
    // By hand for one row: the log-sum-exp of [0, ln 3] is ln 4.
    tf.tidy(() => {
      const loss = softmaxCrossEntropy(tf.tensor1d([1], 'int32'), tf.tensor2d([[0, Math.log(3)]]));
      expect(loss.dataSync()[0]).toBeCloseTo(Math.log(4) - Math.log(3), 6);
    });
  });

  it('stays finite for logits of +-1000 and takes float labels', () => {
    tf.tidy(() => {
      const logits = tf.tensor2d([
        [1000, -1000, 0],
        [-1000, 1000, 0],
      ]);
      const f = (l: tf.Tensor) => tf.sum(softmaxCrossEntropy(tf.tensor1d([1, 1]), l as tf.Tensor2D));
      const losses = softmaxCrossEntropy(tf.tensor1d([1, 1]), logits).dataSync();
      expect(losses[0]).toBeCloseTo(2000, 2);
      expect(losses[1]).toBeCloseTo(0, 6);
      expect(Array.from(tf.grad(f)(logits).dataSync()).every(Number.isFinite)).toBe(true);
    });
  });

  it.skipIf(active !== 'tensorflow')('refuses a label outside the classes instead of scoring it 0', () => {
    expect(() => tf.tidy(() => softmaxCrossEntropy(tf.tensor1d([3], 'int32'), tf.tensor2d([[1, 2, 3]])).dataSync())).toThrow(/label value of 3/);
  });
});

describe('nativeTrainingBatchNorm (FusedBatchNormV3 forward, FusedBatchNormGradV3 back)', () => {
  it('output, batch mean, unbiased variance and the three gradients equal tfjs moments + batchNorm on the pure-JS backend', async () => {
    const result = await onBothBackends((order) => {
      const x = order(tf.randomNormal([37, 6], 0.5, 2, 'float32', 31) as tf.Tensor2D);
      const scale = tf.randomUniform([6], 0.5, 1.5, 'float32', 32) as tf.Tensor1D;
      const offset = tf.randomNormal([6], 0, 1, 'float32', 33) as tf.Tensor1D;
      const dy = order(tf.randomNormal([37, 6], 0, 1, 'float32', 34));
      const stats: tf.Tensor[] = [];
      const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const native = nativeTrainingBatchNorm(a as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
        if (native !== null) {
          stats.push(native.mean, native.unbiasedVariance);
          return native.y;
        }
        const { mean, variance } = tf.moments(a, 0);
        stats.push(tf.keep(mean), tf.keep(tf.mul(variance, 37 / 36)));
        return tf.batchNorm(a as tf.Tensor2D, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-5);
      };
      const [dx, dscale, doffset] = tf.grads(f)([x, scale, offset], dy);
      const y = f(x, scale, offset);
      const out = [order(y), order(dx!), dscale!, doffset!, ...stats.slice(0, 2)];
      tf.dispose(stats.slice(2));
      return out;
    });
    expectClose(result);
  });
});

describe('matMul (native MatMul forward and back)', () => {
  it('values and both gradients equal tfjs matMul on the pure-JS backend', async () => {
    const result = await onBothBackends((order) => {
      const x = order(tf.randomNormal([7, 5], 0, 1, 'float32', 21) as tf.Tensor2D);
      const w = tf.randomNormal([5, 3], 0, 1, 'float32', 22) as tf.Tensor2D;
      const dy = order(tf.randomNormal([7, 3], 0, 1, 'float32', 23));
      const f = (a: tf.Tensor, b: tf.Tensor) => matMul(a as tf.Tensor2D, b as tf.Tensor2D);
      const [dx, dw] = tf.grads(f)([x, w], dy);
      return [order(f(x, w)), order(dx!), dw!];
    });
    expectClose(result);
  });

  it('names both shapes when the inner sizes differ', () => {
    tf.tidy(() => {
      expect(() => matMul(tf.zeros([2, 3]), tf.zeros([4, 5]))).toThrow(/\[2,3\] x \[4,5\]/);
    });
  });
});

describe('maxPool2d (PyTorch padding: padded positions never win)', () => {
  for (const [kernel, stride, padding] of [
    [2, 2, 0],
    [3, 2, 1],
  ] as const) {
    it(`kernel ${kernel}, stride ${stride}, padding ${padding}: values and gradient (overlapping windows add up) equal the pure-JS backend`, async () => {
      const result = await onBothBackends((order) => {
        const x = order(tf.randomNormal([3, 10, 9, 4], 0, 1, 'float32', 24) as tf.Tensor4D);
        const f = (a: tf.Tensor) => maxPool2d(a as tf.Tensor4D, kernel, stride, padding);
        const y = f(x);
        return [order(y), order(tf.grad(f)(x, order(tf.randomNormal(y.shape, 0, 1, 'float32', 25)))), order(x)];
      });
      expectClose(result);
    });
  }

  it('a window of equal values passes its gradient to one position, as PyTorch does', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
      const dx = tf.grad((a: tf.Tensor) => maxPool2d(a as tf.Tensor4D, 2, 2))(x, tf.ones([1, 2, 2, 2]));
      expect(tf.sum(dx).dataSync()[0]).toBe(8);
      expect(Array.from(dx.dataSync()).filter((v) => v !== 0)).toEqual(new Array(8).fill(1));
    });
  });

  for (const [kernel, stride, padding] of [
    [2, 2, 0],
    [3, 2, 1],
  ] as const) {
    it(`kernel ${kernel}, stride ${stride}, padding ${padding}: values and gradient on negative inputs match a pool over -1e30 padding`, () => {
      tf.tidy(() => {
        const x = tf.sub(tf.randomNormal([2, 9, 8, 3], 0, 1, 'float32', 16), 3) as tf.Tensor4D;
        const p = padding;
        const reference = (a: tf.Tensor) =>
          tf.maxPool(
            tf.pad(
              a as tf.Tensor4D,
              [
                [0, 0],
                [p, p],
                [p, p],
                [0, 0],
              ],
              -1e30,
            ),
            kernel,
            stride,
            'valid',
          );
        const ours = (a: tf.Tensor) => maxPool2d(a as tf.Tensor4D, kernel, stride, padding);
        const y = ours(x);
        expect(y.shape).toEqual(reference(x).shape);
        expect(maxDifference(y.dataSync() as Float32Array, reference(x).dataSync() as Float32Array)).toBe(0);
        const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 17);
        const theirs = tf.grad(reference)(x, dy);
        // The noise floor: the reference on the batch in reverse order.
        const reordered = reversedBatch(tf.grad(reference)(reversedBatch(x), reversedBatch(dy)));
        expectWithinNoise(difference(tf.grad(ours)(x, dy), theirs).rel, difference(reordered, theirs).rel, 'dx');
      });
    });
  }
});
