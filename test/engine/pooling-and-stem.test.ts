import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { kernelGroupedConv3d } from '../../src/engine/grouped-conv3d-kernel.js';
import { kernelsAvailable } from '../../src/engine/kernels.js';
import { maxPool3d } from '../../src/engine/max-pool.js';
import { difference } from '../helpers.js';

describe.skipIf(!kernelsAvailable())("egtea's kernels against TensorFlow's ops", () => {
  it('max pooling (3, stride 2, pad 1) equals pooling over -inf padding, values and gradient, negative inputs included', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 5, 9, 8, 6], 0, 1, 'float32', 4) as tf.Tensor5D;
      const dy = tf.randomNormal([2, 3, 5, 4, 6], 0, 1, 'float32', 5);
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
      expect(difference(ours, theirs).rel).toBeLessThan(1e-6);
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
      expect(difference(ours(x, w), reference(x, w)).rel).toBeLessThan(1e-5);
      const dy = tf.randomNormal(reference(x, w).shape, 0, 1, 'float32', 8);
      const [dxOurs, dwOurs] = tf.grads(ours)([x, w], dy);
      const [dxTheirs, dwTheirs] = tf.grads(reference)([x, w], dy);
      expect(difference(dwOurs!, dwTheirs!).rel).toBeLessThan(1e-5);
      expect(difference(dxOurs!, dxTheirs!).rel).toBeLessThan(1e-5);
    });
  });
});
