import * as tf from '@tensorflow/tfjs-core';
import { convOutputSize } from './conv-size.js';
import { currentImplementations } from './dispatch.js';
import { kernelThreads, loadKernels } from './kernels.js';
import { kernelOpsAvailable } from './kernel-ops.js';
import { intsAttr, nativeBackend, type NativeBackend, type OpAttr } from './native-backend.js';

/**
 * 3D max pooling with a cubic window and PyTorch's padding (padded positions never win).
 * egtea's kernel keeps each maximum's position, so the gradient is a scatter: TensorFlow's CPU
 * MaxPool3DGrad recomputes the windows and took 0.6 s for the 3D-ResNeXt stem's pool alone.
 * Elsewhere (a GPU, or no kernels: dispatch.ts), -Infinity padding and TensorFlow's 2D MaxPool twice.
 */
export function maxPool3d(x: tf.Tensor5D, kernel: number, stride: number, padding: number): tf.Tensor5D {
  const useKernel = currentImplementations().maxPool3d === 'egtea-kernel';
  const backend = nativeBackend();
  if (useKernel && backend !== null && kernelOpsAvailable()) return maxPool3dOp(backend, x, kernel, stride, padding);
  const k = useKernel ? loadKernels() : null;
  if (k === null) {
    // TensorFlow's MaxPool3DGrad gives the whole gradient to every element within 1e-5 of a
    // window's maximum (ties and near-ties alike); its 2D MaxPoolGrad to one. A box window over
    // -Infinity padding is separable: height and width per frame, then time as a [kernel, 1] window.
    return tf.tidy(() => {
      const [n, t, h, w, c] = x.shape;
      const frames = maxPool2d(tf.reshape(x, [n * t, h, w, c]) as tf.Tensor4D, kernel, stride, padding);
      const [, ho, wo] = frames.shape;
      const p = padding;
      const columns = tf.reshape(frames, [n, t, ho * wo, c]) as tf.Tensor4D;
      const padded =
        p > 0
          ? (tf.pad(
              columns,
              [
                [0, 0],
                [p, p],
                [0, 0],
                [0, 0],
              ],
              -Infinity,
            ) as tf.Tensor4D)
          : columns;
      const pooled = tf.maxPool(padded, [kernel, 1], [stride, 1], 'valid');
      return tf.reshape(pooled, [n, pooled.shape[1], ho, wo, c]) as tf.Tensor5D;
    });
  }
  const [n, t, h, w, c] = x.shape;
  const out: [number, number, number, number, number] = [
    n,
    convOutputSize(t, kernel, stride, padding),
    convOutputSize(h, kernel, stride, padding),
    convOutputSize(w, kernel, stride, padding),
    c,
  ];
  const dims = Int32Array.of(n, t, h, w, c, out[1], out[2], out[3], kernel, stride, padding, kernelThreads());
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor5D;
    const size = out.reduce((a, b) => a * b, 1);
    const y = new Float32Array(size);
    const argmax = new Int32Array(size);
    k.maxPool3dForward(dims, input.dataSync() as Float32Array, y, argmax);
    return {
      value: tf.tensor5d(y, out),
      gradFunc: (dy: tf.Tensor) => {
        const dx = new Float32Array(input.size);
        k.maxPool3dBackward(dy.dataSync() as Float32Array, argmax, dx);
        return [tf.tensor5d(dx, input.shape)];
      },
    };
  });
  return op(x) as tf.Tensor5D;
}

/** egtea's pooling kernel as TensorFlow ops (src/engine/native/tf_ops.cc): the positions stay a tensor. */
function maxPool3dOp(backend: NativeBackend, x: tf.Tensor5D, kernel: number, stride: number, padding: number): tf.Tensor5D {
  const int = (name: string, value: number): OpAttr => ({ name, type: backend.binding.TF_ATTR_INT, value });
  const attrs = [int('kernel', kernel), int('stride', stride), int('padding', padding), int('threads', kernelThreads())];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor5D, tf.GradSaveFunc];
    const [y, argmax] = backend.executeMultipleOutputs('EgteaMaxPool3D', attrs, [input], 2);
    save([argmax!]);
    return {
      value: y as tf.Tensor5D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        backend.executeSingleOutput('EgteaMaxPool3DGrad', [intsAttr(backend, 'shape', input.shape)], [dy, saved[0]!]),
      ],
    };
  });
  return op(x) as tf.Tensor5D;
}

/**
 * 2D max pooling with a square window and PyTorch's padding, on [N, H, W, C].
 *
 * TensorFlow's MaxPool and its MaxPoolGrad, which oneDNN's rewrite replaces inside a recorded
 * step. MaxPoolWithArgmax with MaxPoolGradWithArgmax (positions kept for a scatter) ran on a
 * slow scalar kernel instead: a 3-channel LeNet-5 step took 6.5-7.0 ms that way and 5.8 ms this
 * way (`egtea bench engine`, 3 channels, same run); op by op the two are level.
 */
export function maxPool2d(x: tf.Tensor4D, kernel: number, stride: number, padding = 0): tf.Tensor4D {
  return tf.tidy(() => {
    const p = padding;
    const padded =
      p > 0
        ? (tf.pad(
            x,
            [
              [0, 0],
              [p, p],
              [p, p],
              [0, 0],
            ],
            -Infinity,
          ) as tf.Tensor4D)
        : x;
    return tf.maxPool(padded, kernel, stride, 'valid');
  });
}
