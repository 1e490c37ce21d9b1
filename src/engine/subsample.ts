import * as tf from '@tensorflow/tfjs-core';
import type { Triple } from './conv-size.js';

/**
 * Every stride-th position of a [N, T, H, W, C] tensor along T, H and W (x[:, ::s, ::s, ::s]),
 * with a gradient: tfjs has none for strided slices, so the gradient scatters back into zeros.
 */
export function subsample3d(x: tf.Tensor5D, stride: Triple): tf.Tensor5D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor5D;
    const value = tf.stridedSlice(input, [0, 0, 0, 0, 0], input.shape, [1, ...stride, 1]) as tf.Tensor5D;
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const [n, t, h, w] = value.shape;
        const indices = new Int32Array(n * t * h * w * 4);
        let at = 0;
        for (let a = 0; a < n; a++)
          for (let b = 0; b < t; b++)
            for (let c = 0; c < h; c++)
              for (let d = 0; d < w; d++) {
                indices.set([a, b * stride[0], c * stride[1], d * stride[2]], at);
                at += 4;
              }
        return [tf.tidy(() => tf.scatterND(tf.tensor2d(indices, [n * t * h * w, 4], 'int32'), tf.reshape(dy, [n * t * h * w, input.shape[4]]), input.shape))];
      },
    };
  });
  return op(x) as tf.Tensor5D;
}
