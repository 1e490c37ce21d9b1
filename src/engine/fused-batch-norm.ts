import * as tf from '@tensorflow/tfjs';
import { kernelThreads, loadKernels } from './kernels.js';

export interface FusedBatchNormOptions {
  training: boolean;
  relu: boolean;
  epsilon: number;
  runningMean: tf.Tensor1D;
  runningVar: tf.Tensor1D;
}

export interface FusedBatchNormResult {
  y: tf.Tensor;
  /** Batch mean and biased variance (training mode), for the running averages. */
  batchMean: Float32Array | null;
  batchVariance: Float32Array | null;
}

function f32(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/**
 * y = act(gamma * (x - mean) / sqrt(var + eps) + beta [+ residual]) over the last axis, in
 * egtea's kernel, with gradients for x, gamma, beta and the residual. Null when the kernels
 * are not built; the caller then composes the same thing from tfjs ops.
 */
export function fusedBatchNorm(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  residual: tf.Tensor | null,
  options: FusedBatchNormOptions,
): FusedBatchNormResult | null {
  const k = loadKernels();
  if (k === null) return null;
  const channels = x.shape[x.shape.length - 1]!;
  const rows = x.size / channels;
  const header = Int32Array.from([rows, channels, options.relu ? 1 : 0, residual ? 1 : 0, options.training ? 1 : 0, kernelThreads()]);
  const mean = new Float32Array(channels);
  const rstd = new Float32Array(channels);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [input, scale, offset, res] = args.slice(0, -1) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor | undefined];
    const y = new Float32Array(input.size);
    k.batchNormForward(
      header,
      f32(input),
      f32(scale),
      f32(offset),
      res ? f32(res) : null,
      f32(options.runningMean),
      f32(options.runningVar),
      Float32Array.of(options.epsilon),
      y,
      mean,
      rstd,
    );
    const value = tf.tensor(y, input.shape, 'float32');
    save([input, value, scale]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedOutput, savedScale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor1D];
        const dx = new Float32Array(savedInput.size);
        const dgamma = new Float32Array(channels);
        const dbeta = new Float32Array(channels);
        const dres = res ? new Float32Array(savedInput.size) : null;
        k.batchNormBackward(header, f32(savedInput), f32(savedOutput), f32(dy), f32(savedScale), mean, rstd, dx, dgamma, dbeta, dres);
        const grads = [tf.tensor(dx, savedInput.shape, 'float32'), tf.tensor1d(dgamma), tf.tensor1d(dbeta)];
        if (dres) grads.push(tf.tensor(dres, savedInput.shape, 'float32'));
        return grads;
      },
    };
  });
  const inputs = residual ? [x, gamma, beta, residual] : [x, gamma, beta];
  const y = op(...inputs);
  if (!options.training) return { y, batchMean: null, batchVariance: null };
  const variance = rstd.map((r) => 1 / (r * r) - options.epsilon);
  return { y, batchMean: mean, batchVariance: variance };
}
