import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { kernelGroupedConv3d } from '../../src/engine/grouped-conv3d-kernel.js';
import { kernelsAvailable, kernelsEnabled, setKernelsEnabled } from '../../src/engine/kernels.js';
import { maxPool3d } from '../../src/engine/max-pool.js';
import { SeededRandom } from '../../src/util/random.js';
import { difference } from '../helpers.js';
import { expectWithinNoise } from '../noise-floor.js';

// Each noise floor: TensorFlow's op (the reference) against the same computation in float64 here,
// rounded to float32 once at the end (the closest a float32 result can be).

type Triple = [number, number, number];

/** Conv3d of NDHWC x and [kt, kh, kw, in, out] w in float64, and both gradients for dy. */
function conv3dFloat64(x: tf.Tensor5D, w: tf.Tensor5D, dy: tf.Tensor5D, stride: Triple, pad: Triple) {
  const [n, t, h, wd, ci] = x.shape;
  const [kt, kh, kw, , co] = w.shape;
  const [, ot, oh, ow] = dy.shape;
  const [xs, ws, dys] = [x.dataSync(), w.dataSync(), dy.dataSync()];
  const y = new Float64Array(n * ot * oh * ow * co);
  const dx = new Float64Array(xs.length);
  const dw = new Float64Array(ws.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < ot; i++)
      for (let j = 0; j < oh; j++)
        for (let k = 0; k < ow; k++) {
          const out = (((b * ot + i) * oh + j) * ow + k) * co;
          for (let a = 0; a < kt; a++) {
            const ti = i * stride[0] - pad[0] + a;
            if (ti < 0 || ti >= t) continue;
            for (let c = 0; c < kh; c++) {
              const hi = j * stride[1] - pad[1] + c;
              if (hi < 0 || hi >= h) continue;
              for (let d = 0; d < kw; d++) {
                const wi = k * stride[2] - pad[2] + d;
                if (wi < 0 || wi >= wd) continue;
                const input = (((b * t + ti) * h + hi) * wd + wi) * ci;
                const filter = ((a * kh + c) * kw + d) * ci * co;
                for (let p = 0; p < ci; p++)
                  for (let q = 0; q < co; q++) {
                    y[out + q]! += xs[input + p]! * ws[filter + p * co + q]!;
                    dx[input + p]! += dys[out + q]! * ws[filter + p * co + q]!;
                    dw[filter + p * co + q]! += xs[input + p]! * dys[out + q]!;
                  }
              }
            }
          }
        }
  return { y: tf.tensor(Float32Array.from(y), dy.shape), dx: tf.tensor(Float32Array.from(dx), x.shape), dw: tf.tensor(Float32Array.from(dw), w.shape) };
}

/** The gradient of a max pool (size k, stride s, padding p; padding never wins) in float64. */
function maxPool3dGradFloat64(x: tf.Tensor5D, dy: tf.Tensor5D, k: number, s: number, p: number): tf.Tensor {
  const [n, t, h, w, c] = x.shape;
  const [, ot, oh, ow] = dy.shape;
  const [xs, dys] = [x.dataSync(), dy.dataSync()];
  const dx = new Float64Array(xs.length);
  const at = (b: number, i: number, j: number, l: number, ch: number) => (((b * t + i) * h + j) * w + l) * c + ch;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < ot; i++)
      for (let j = 0; j < oh; j++)
        for (let l = 0; l < ow; l++)
          for (let ch = 0; ch < c; ch++) {
            let best = -1;
            for (let a = i * s - p; a < i * s - p + k; a++)
              for (let e = j * s - p; e < j * s - p + k; e++)
                for (let f = l * s - p; f < l * s - p + k; f++) {
                  if (a < 0 || a >= t || e < 0 || e >= h || f < 0 || f >= w) continue;
                  if (best < 0 || xs[at(b, a, e, f, ch)]! > xs[best]!) best = at(b, a, e, f, ch);
                }
            dx[best]! += dys[(((b * ot + i) * oh + j) * ow + l) * c + ch]!;
          }
  return tf.tensor(Float32Array.from(dx), x.shape);
}

/**
 * Each window of a max pool (size k, stride s, padding p; padding never wins) in float64, in the
 * output's order: its maximum, the input positions holding it, and how many others lie within 1e-5.
 */
function maxPool3dWindowsFloat64(x: tf.Tensor5D, k: number, s: number, p: number) {
  const [n, t, h, w, c] = x.shape;
  const [ot, oh, ow] = [t, h, w].map((d) => Math.floor((d + 2 * p - k) / s) + 1) as Triple;
  const xs = x.dataSync();
  const at = (b: number, i: number, j: number, l: number, ch: number) => (((b * t + i) * h + j) * w + l) * c + ch;
  const windows: { max: number; maxima: number[]; nearTies: number }[] = [];
  for (let b = 0; b < n; b++)
    for (let i = 0; i < ot; i++)
      for (let j = 0; j < oh; j++)
        for (let l = 0; l < ow; l++)
          for (let ch = 0; ch < c; ch++) {
            const inside: number[] = [];
            for (let a = i * s - p; a < i * s - p + k; a++)
              for (let e = j * s - p; e < j * s - p + k; e++)
                for (let f = l * s - p; f < l * s - p + k; f++) if (a >= 0 && a < t && e >= 0 && e < h && f >= 0 && f < w) inside.push(at(b, a, e, f, ch));
            const max = Math.max(...inside.map((index) => xs[index]!));
            const maxima = inside.filter((index) => xs[index] === max);
            const nearTies = inside.filter((index) => xs[index]! < max && max - xs[index]! < 1e-5).length;
            windows.push({ max, maxima, nearTies });
          }
  return { shape: [n, ot, oh, ow, c] as [number, number, number, number, number], windows };
}

/** Runs fn on TensorFlow's ops alone (EGTEA_KERNELS=0, or no kernels built), then puts the setting back. */
function withKernelsDisabled(fn: () => void): void {
  const before = kernelsEnabled();
  setKernelsEnabled(false);
  try {
    fn();
  } finally {
    setKernelsEnabled(before);
  }
}

describe('3D max pooling on TensorFlow ops (no egtea kernels)', () => {
  it("equals TensorFlow's MaxPool3D over -inf padding exactly, windows at the edges included", () => {
    withKernelsDisabled(() =>
      tf.tidy(() => {
        for (const [k, s, p] of [
          [3, 2, 1],
          [2, 2, 0],
          [3, 1, 1],
          [2, 1, 1],
          [3, 3, 1],
          [1, 1, 0],
        ] as const) {
          const x = tf.randomNormal([2, 5, 9, 8, 3], 0, 1, 'float32', 10 * k + s + p) as tf.Tensor5D;
          const padded = tf.pad(
            x,
            [
              [0, 0],
              [p, p],
              [p, p],
              [p, p],
              [0, 0],
            ],
            -Infinity,
          ) as tf.Tensor5D;
          const ours = maxPool3d(x, k, s, p);
          expect(ours.shape, `${k}, ${s}, ${p}`).toEqual(maxPool3dWindowsFloat64(x, k, s, p).shape);
          expect(difference(ours, tf.maxPool3d(padded, k, s, 'valid')).abs, `${k}, ${s}, ${p}`).toBe(0);
        }
      }),
    );
  });

  it("sends each window's gradient to one of its maxima, exact ties and ties within 1e-5 included", () => {
    // TensorFlow's MaxPool3DGrad gives it to every element within 1e-5 of the maximum; PyTorch and
    // egtea's kernel to one. Every value is -1 or 1 plus 0, 1 or 2 steps of 5e-6, channel 0 all
    // near -1 (where padding with zeros would win at the edges).
    withKernelsDisabled(() =>
      tf.tidy(() => {
        const [k, s, p] = [3, 2, 1];
        const shape: [number, number, number, number, number] = [1, 5, 6, 7, 2];
        const random = new SeededRandom('max-pool ties');
        const values = Float32Array.from({ length: 5 * 6 * 7 * 2 }, (_, i) => (i % 2 === 0 || random.bernoulli(0.5) ? -1 : 1) + 5e-6 * random.int(0, 3));
        const x = tf.tensor5d(values, shape);
        const reference = maxPool3dWindowsFloat64(x, k, s, p);
        const { windows } = reference;
        expect(windows.filter((w) => w.maxima.length > 1).length).toBeGreaterThan(10);
        expect(windows.filter((w) => w.nearTies > 0).length).toBeGreaterThan(10);
        const y = maxPool3d(x, k, s, p);
        expect(y.shape).toEqual(reference.shape);
        expect(Array.from(y.dataSync())).toEqual(windows.map((w) => w.max));
        const grad = tf.grad((a: tf.Tensor) => maxPool3d(a as tf.Tensor5D, k, s, p));
        windows.forEach((window, o) => {
          const one = new Float32Array(windows.length);
          one[o] = 1;
          const dx = grad(x, tf.tensor5d(one, reference.shape)).dataSync();
          const reached = [...dx.keys()].filter((index) => dx[index] !== 0);
          expect(reached, `window ${o}`).toHaveLength(1);
          expect(window.maxima, `window ${o}`).toContain(reached[0]);
          expect(dx[reached[0]!], `window ${o}`).toBe(1);
        });
        // Integer gradients add up exactly: every window's gradient arrives once, whole.
        const dy = tf.tensor5d(
          windows.map((_, o) => 1 + (o % 4)),
          reference.shape,
        );
        expect(tf.sum(grad(x, dy)).dataSync()[0]).toBe(windows.reduce((total, _, o) => total + 1 + (o % 4), 0));
      }),
    );
  });
});

describe.skipIf(!kernelsAvailable())("egtea's kernels against TensorFlow's ops", () => {
  it('max pooling (3, stride 2, pad 1) equals pooling over -inf padding, values and gradient, negative inputs included', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 5, 9, 8, 6], 0, 1, 'float32', 4) as tf.Tensor5D;
      const dy = tf.randomNormal([2, 3, 5, 4, 6], 0, 1, 'float32', 5) as tf.Tensor5D;
      const reference = (a: tf.Tensor) =>
        tf.maxPool3d(
          tf.pad(
            a,
            [
              [0, 0],
              [1, 1],
              [1, 1],
              [1, 1],
              [0, 0],
            ],
            -1e30,
          ) as tf.Tensor5D,
          3,
          2,
          'valid',
        );
      expect(difference(maxPool3d(x, 3, 2, 1), reference(x)).abs).toBe(0);
      const ours = tf.grad((a: tf.Tensor) => maxPool3d(a as tf.Tensor5D, 3, 2, 1))(x, dy);
      const theirs = tf.grad(reference)(x, dy);
      // Overlapping windows add up to 8 gradients per input, in some order.
      expectWithinNoise(difference(ours, theirs).rel, difference(theirs, maxPool3dGradFloat64(x, dy, 3, 2, 1)).rel, 'dx');
    });
  });

  it('with one group (3 channels, 3x7x7, stride (1,2,2)) the grouped kernel equals tf.conv3d, with both gradients', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([1, 4, 20, 18, 3], 0, 1, 'float32', 6) as tf.Tensor5D;
      const w = tf.randomNormal([3, 7, 7, 3, 8], 0, 0.1, 'float32', 7) as tf.Tensor5D;
      const reference = (a: tf.Tensor, b: tf.Tensor) =>
        tf.conv3d(
          tf.pad(a, [
            [0, 0],
            [1, 1],
            [3, 3],
            [3, 3],
            [0, 0],
          ]) as tf.Tensor5D,
          b as tf.Tensor5D,
          [1, 2, 2],
          'valid',
        );
      const ours = (a: tf.Tensor, b: tf.Tensor) => kernelGroupedConv3d(a as tf.Tensor5D, b as tf.Tensor5D, [1, 2, 2], [1, 3, 3], 1);
      const dy = tf.randomNormal(reference(x, w).shape, 0, 1, 'float32', 8) as tf.Tensor5D;
      const exact = conv3dFloat64(x, w, dy, [1, 2, 2], [1, 3, 3]);
      const theirs = { y: reference(x, w), grads: tf.grads(reference)([x, w], dy) };
      const [dxOurs, dwOurs] = tf.grads(ours)([x, w], dy);
      const expectLikeTensorFlow = (what: string, actual: tf.Tensor, expected: tf.Tensor, float64: tf.Tensor) =>
        expectWithinNoise(difference(actual, expected).rel, difference(expected, float64).rel, what);
      expectLikeTensorFlow('y', ours(x, w), theirs.y, exact.y);
      expectLikeTensorFlow('dx', dxOurs!, theirs.grads[0]!, exact.dx);
      expectLikeTensorFlow('dw', dwOurs!, theirs.grads[1]!, exact.dw);
    });
  });
});
