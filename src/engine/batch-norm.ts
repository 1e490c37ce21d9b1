import * as tf from '@tensorflow/tfjs-core';
import { fusedBatchNorm } from './batch-norm-kernel.js';
import { biasActivation } from './bias-activation.js';
import { currentImplementations } from './dispatch.js';
import { nativeTrainingBatchNorm } from './tensorflow-batch-norm.js';

/** A batch-norm layer's tensors: the affine weight and bias, the running statistics. */
export interface BatchNormTensors {
  weight: tf.Tensor;
  bias: tf.Tensor;
  runningMean: tf.Tensor;
  runningVar: tf.Tensor;
  epsilon: number;
}

export interface BatchNormOptions {
  /** Normalise by the batch's statistics (and return them) instead of the running ones. */
  training: boolean;
  /** Added after normalisation, before the activation: a residual block's shortcut. */
  residual?: tf.Tensor;
  relu?: boolean;
}

export interface BatchNormResult<T extends tf.Tensor> {
  y: T;
  /** In training: the batch's mean and unbiased variance per channel, for the running averages (the caller disposes them). */
  statistics: { mean: tf.Tensor; unbiasedVariance: tf.Tensor } | null;
}

/**
 * act(BN(x) [+ residual]) over the last (channel) axis: egtea's fused kernel, TensorFlow's
 * FusedBatchNormV3 (training) or tfjs ops, as dispatch.ts chooses for the device.
 */
export function batchNorm<T extends tf.Tensor>(x: T, layer: BatchNormTensors, options: BatchNormOptions): BatchNormResult<T> {
  if (currentImplementations().batchNorm !== 'egtea-kernel') return batchNormWithoutKernel(x, layer, options);
  const fused = fusedBatchNorm(x, layer.weight as tf.Tensor1D, layer.bias as tf.Tensor1D, options.residual ?? null, {
    training: options.training,
    relu: options.relu ?? false,
    epsilon: layer.epsilon,
    runningMean: layer.runningMean as tf.Tensor1D,
    runningVar: layer.runningVar as tf.Tensor1D,
  });
  if (fused === null) return batchNormWithoutKernel(x, layer, options);
  if (!fused.batchMean || !fused.batchVariance) return { y: fused.y as T, statistics: null };
  const count = x.size / x.shape[x.shape.length - 1]!;
  const unbiasedVariance = unbiased(fused.batchVariance, count);
  fused.batchVariance.dispose();
  return { y: fused.y as T, statistics: { mean: fused.batchMean, unbiasedVariance } };
}

/** The batch variance with Bessel's correction, as PyTorch's running variance takes it. */
function unbiased(variance: tf.Tensor, count: number): tf.Tensor {
  return tf.tidy(() => tf.mul(variance, count / Math.max(count - 1, 1)));
}

function batchNormWithoutKernel<T extends tf.Tensor>(x: T, layer: BatchNormTensors, options: BatchNormOptions): BatchNormResult<T> {
  const out = tf.tidy(() => {
    // tfjs's batch-norm gradient handles rank <= 4 only: normalise a [-1, C] view of any rank.
    const channels = x.shape[x.shape.length - 1]!;
    const flat = tf.reshape(x, [-1, channels]) as tf.Tensor2D;
    let normalised: tf.Tensor;
    let statistics: { mean: tf.Tensor; unbiasedVariance: tf.Tensor } | undefined;
    if (options.training) {
      const native = nativeTrainingBatchNorm(flat, layer.weight as tf.Tensor1D, layer.bias as tf.Tensor1D, layer.epsilon);
      if (native !== null) {
        statistics = { mean: native.mean, unbiasedVariance: native.unbiasedVariance };
        normalised = native.y;
      } else {
        const { mean, variance } = tf.moments(flat, 0);
        statistics = { mean, unbiasedVariance: unbiased(variance, flat.shape[0]) };
        normalised = tf.batchNorm(flat, mean, variance, layer.bias, layer.weight, layer.epsilon);
      }
    } else {
      normalised = tf.batchNorm(flat, layer.runningMean, layer.runningVar, layer.bias, layer.weight, layer.epsilon);
    }
    let y = tf.reshape(normalised, x.shape);
    if (options.residual) y = tf.add(y, options.residual);
    return { y: biasActivation(y, null, options.relu ? 'relu' : 'linear'), ...statistics };
  });
  const { y, mean, unbiasedVariance } = out as { y: T; mean?: tf.Tensor; unbiasedVariance?: tf.Tensor };
  return { y, statistics: mean && unbiasedVariance ? { mean, unbiasedVariance } : null };
}
