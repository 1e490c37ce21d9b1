import * as tf from '@tensorflow/tfjs-core';
import { boolAttr, floatAttr, floatTypeAttr, nativeBackend, stringAttr, type NativeBackend } from './native-backend.js';

/** A training-mode batch norm's output, and its batch statistics for the running averages. */
export interface TrainingBatchNorm {
  y: tf.Tensor2D;
  /** Per-channel mean and unbiased variance, kept past any tidy: the caller frees them. */
  mean: tf.Tensor1D;
  unbiasedVariance: tf.Tensor1D;
}

/**
 * Training-mode batch norm of a [rows, channels] view, (x - mean) / sqrt(var + eps) * scale +
 * offset over the rows, with gradients for x, scale and offset, and the batch statistics.
 *
 * On TensorFlow this is FusedBatchNormV3 forward and FusedBatchNormGradV3 backward. tfjs's
 * route (moments, then batchNorm) builds its mean gradients from full-size tensors of ones
 * made in JavaScript: per layer a copy of the activations uploaded every step, and baked into
 * a recorded graph. Null without the native backend (the caller composes tfjs ops).
 */
export function nativeTrainingBatchNorm(x: tf.Tensor2D, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): TrainingBatchNorm | null {
  const backend = nativeBackend();
  if (backend === null) return null;
  return fusedTraining(backend, x, scale, offset, epsilon);
}

function fusedTraining(backend: NativeBackend, x: tf.Tensor2D, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): TrainingBatchNorm {
  const [rows, channels] = x.shape;
  const attrs = [
    floatTypeAttr(backend),
    floatTypeAttr(backend, 'U'),
    floatAttr(backend, 'epsilon', epsilon),
    stringAttr(backend, 'data_format', 'NHWC'),
    boolAttr(backend, 'is_training', true),
  ];
  let statistics: Omit<TrainingBatchNorm, 'y'> | null = null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, gamma, beta] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    // FusedBatchNorm reduces over N, H and W of a 4D tensor: the rows become W.
    const x4 = tf.reshape(input, [1, 1, rows, channels]);
    const empty = tf.tensor1d([], 'float32');
    const [y4, mean, variance, reserve1, reserve2, reserve3] = backend.executeMultipleOutputs(
      'FusedBatchNormV3',
      attrs,
      [x4, gamma, beta, empty, empty],
      6,
    ) as tf.Tensor[];
    empty.dispose();
    // The statistics leave through the closure: a custom gradient returns one tensor.
    statistics = { mean: tf.keep(mean as tf.Tensor1D), unbiasedVariance: tf.keep(variance as tf.Tensor1D) };
    save([x4, gamma, reserve1!, reserve2!, reserve3!]);
    return {
      value: tf.reshape(y4!, [rows, channels]) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedScale, r1, r2, r3] = saved as tf.Tensor[];
        const dy4 = tf.reshape(dy, [1, 1, rows, channels]);
        const [dx4, dscale, doffset, r4, r5] = backend.executeMultipleOutputs(
          'FusedBatchNormGradV3',
          attrs,
          [dy4, savedX!, savedScale!, r1!, r2!, r3!],
          5,
        ) as tf.Tensor[];
        tf.dispose([r4!, r5!]);
        return [tf.reshape(dx4!, [rows, channels]), dscale!, doffset!];
      },
    };
  });
  const y = op(x, scale, offset) as tf.Tensor2D;
  return { y, ...statistics! };
}
