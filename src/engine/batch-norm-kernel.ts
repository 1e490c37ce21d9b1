import * as tf from '@tensorflow/tfjs-core';
import { kernelOpsAvailable } from './kernel-ops.js';
import { kernelThreads, loadKernels, type KernelAddon } from './kernels.js';
import { boolAttr, floatAttr, nativeBackend, type NativeBackend, type OpAttr } from './native-backend.js';

export interface FusedBatchNormOptions {
  training: boolean;
  relu: boolean;
  epsilon: number;
  runningMean: tf.Tensor1D;
  runningVar: tf.Tensor1D;
}

export interface FusedBatchNormResult {
  y: tf.Tensor;
  /** Batch mean and biased variance (training mode), for the running averages; the caller frees them. */
  batchMean: tf.Tensor1D | null;
  batchVariance: tf.Tensor1D | null;
}

function f32(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/**
 * y = act(gamma * (x - mean) / sqrt(var + eps) + beta [+ residual]) over the last axis, in
 * egtea's kernel, with gradients for x, gamma, beta and the residual: as TensorFlow ops when
 * registered (kernel-ops.ts), else through the N-API module. Null when neither is built; the
 * caller then composes the same thing from TensorFlow or tfjs ops.
 */
export function fusedBatchNorm(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  residual: tf.Tensor | null,
  options: FusedBatchNormOptions,
): FusedBatchNormResult | null {
  const backend = nativeBackend();
  if (backend !== null && kernelOpsAvailable()) return batchNormOp(backend, x, gamma, beta, residual, options);
  const k = loadKernels();
  return k === null ? null : batchNormAddon(k, x, gamma, beta, residual, options);
}

/** The biased variance from the kernel's 1 / sqrt(var + eps). */
function varianceFromRstd(rstd: tf.Tensor1D, epsilon: number): tf.Tensor1D {
  return tf.tidy(() => tf.sub(tf.reciprocal(tf.square(rstd)), epsilon) as tf.Tensor1D);
}

function batchNormOp(
  backend: NativeBackend,
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  residual: tf.Tensor | null,
  options: FusedBatchNormOptions,
): FusedBatchNormResult {
  const common: OpAttr[] = [
    boolAttr(backend, 'relu', options.relu),
    boolAttr(backend, 'training', options.training),
    boolAttr(backend, 'has_residual', residual !== null),
    { name: 'threads', type: backend.binding.TF_ATTR_INT, value: kernelThreads() },
  ];
  let statistics: { mean: tf.Tensor1D; rstd: tf.Tensor1D } | null = null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [input, scale, offset, res] = args.slice(0, -1) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor | undefined];
    const noResidual = res ? null : tf.tensor1d([], 'float32');
    const [y, mean, rstd] = backend.executeMultipleOutputs(
      'EgteaBatchNorm',
      [...common, floatAttr(backend, 'epsilon', options.epsilon)],
      [input, scale, offset, res ?? noResidual!, options.runningMean, options.runningVar],
      3,
    ) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
    noResidual?.dispose();
    // The statistics leave through the closure: a custom gradient returns one tensor.
    statistics = { mean: tf.keep(mean), rstd: tf.keep(rstd) };
    save([input, y, scale, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedOutput, savedScale, savedMean, savedRstd] = saved as tf.Tensor[];
        const [dx, dgamma, dbeta, dres] = backend.executeMultipleOutputs(
          'EgteaBatchNormGrad',
          common,
          [savedInput!, savedOutput!, dy, savedScale!, savedMean!, savedRstd!],
          4,
        );
        if (res) return [dx!, dgamma!, dbeta!, dres!];
        dres!.dispose();
        return [dx!, dgamma!, dbeta!];
      },
    };
  });
  const y = residual ? op(x, gamma, beta, residual) : op(x, gamma, beta);
  const { mean, rstd } = statistics!;
  if (!options.training) {
    tf.dispose([mean, rstd]);
    return { y, batchMean: null, batchVariance: null };
  }
  const variance = varianceFromRstd(rstd, options.epsilon);
  rstd.dispose();
  return { y, batchMean: mean, batchVariance: variance };
}

function batchNormAddon(
  k: KernelAddon,
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  residual: tf.Tensor | null,
  options: FusedBatchNormOptions,
): FusedBatchNormResult {
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
  return { y, batchMean: tf.tensor1d(mean), batchVariance: tf.tensor1d(rstd.map((r) => 1 / (r * r) - options.epsilon)) };
}
