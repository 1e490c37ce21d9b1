import * as tf from '@tensorflow/tfjs-core';
import { fusedBatchNorm } from './batch-norm-kernel.js';
import { conv3d, type Conv3dSpec } from './conv3d.js';
import { currentImplementations, type Device } from './dispatch.js';
import type { GroupedConvImpl } from './dispatch.js';
import { maxPool3d } from './max-pool.js';
import { nativeTrainingBatchNorm } from './tensorflow-batch-norm.js';

/** One implementation of an op against another on the same inputs, forward and gradients. */
export interface OpAgreement {
  op: string;
  implementation: string;
  reference: string;
  /** Largest |a - b| / max(1, largest |b|), per output (forward first, then each gradient). */
  errors: Record<string, number>;
  tolerance: number;
  ok: boolean;
}

/** Largest difference relative to the reference's scale (at least 1, so values near 0 compare absolutely). */
export function relativeError(value: tf.Tensor, reference: tf.Tensor): number {
  if (value.size !== reference.size) return Number.POSITIVE_INFINITY;
  const a = value.dataSync();
  const b = reference.dataSync();
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return Number.isFinite(worst) ? worst / scale : Number.POSITIVE_INFINITY;
}

type Outputs = Record<string, tf.Tensor>;

/** Runs f and its gradients with respect to every input, weighted by a fixed random cotangent. */
function forwardAndGradients(f: (...inputs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], names: string[], seed: number): Outputs {
  return tf.tidy(() => {
    const y = f(...inputs);
    const cotangent = tf.randomNormal(y.shape, 0, 1, 'float32', seed);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), cotangent)))(inputs);
    const out: Outputs = { y: tf.keep(y) };
    grads.forEach((g, i) => (out[`d${names[i]}`] = tf.keep(g)));
    return out;
  });
}

function agreement(op: string, implementation: string, reference: string, value: Outputs, expected: Outputs, tolerance: number): OpAgreement {
  const errors: Record<string, number> = {};
  for (const key of Object.keys(expected)) errors[key] = value[key] ? relativeError(value[key]!, expected[key]!) : Number.POSITIVE_INFINITY;
  tf.dispose([...Object.values(value), ...Object.values(expected)]);
  return { op, implementation, reference, errors, tolerance, ok: Object.values(errors).every((e) => e <= tolerance) };
}

// float32 sums over a few hundred terms in another order: errors of 1e-6..1e-5 of the scale.
const TOLERANCE = 1e-4;

function groupedConvChecks(device: Device | null): OpAgreement[] {
  const x = tf.randomNormal([2, 5, 9, 9, 16], 0, 1, 'float32', 11);
  const w = tf.randomNormal([3, 3, 3, 4, 16], 0, 0.2, 'float32', 12);
  const spec: Conv3dSpec = { kernel: [3, 3, 3], stride: [1, 2, 2], padding: [1, 1, 1], groups: 4 };
  const run = (impl: GroupedConvImpl) => forwardAndGradients((a, b) => conv3d(a as tf.Tensor5D, b as tf.Tensor5D, spec, impl), [x, w], ['x', 'filter'], 13);
  const candidates: GroupedConvImpl[] = [];
  if (currentImplementations().groupedConv3d === 'egtea-kernel') candidates.push('egtea-kernel');
  // TensorFlow's grouped Conv3D exists on GPU only (cuDNN).
  if (device === 'gpu') candidates.push('tensorflow-conv3d');
  const results = candidates.map((impl) =>
    agreement('grouped conv3d', impl, 'tensorflow-split-per-group', run(impl), run('tensorflow-split-per-group'), TOLERANCE),
  );
  tf.dispose([x, w]);
  return results;
}

function batchNormChecks(): OpAgreement[] {
  if (currentImplementations().batchNorm !== 'egtea-kernel') return [];
  const shape = [2, 3, 7, 7, 24];
  const x = tf.randomNormal(shape, 0.5, 2, 'float32', 21);
  const residual = tf.randomNormal(shape, 0, 1, 'float32', 22);
  const gamma = tf.randomUniform([24], 0.5, 1.5, 'float32', 23);
  const beta = tf.randomNormal([24], 0, 0.5, 'float32', 24);
  const runningMean = tf.zeros([24]) as tf.Tensor1D;
  const runningVar = tf.ones([24]) as tf.Tensor1D;
  const epsilon = 1e-5;
  const egtea = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, r: tf.Tensor) => {
    const result = fusedBatchNorm(a, g as tf.Tensor1D, b as tf.Tensor1D, r, { training: true, relu: true, epsilon, runningMean, runningVar })!;
    tf.dispose([result.batchMean!, result.batchVariance!]);
    return result.y;
  };
  const tensorflow = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, r: tf.Tensor) => {
    const flat = tf.reshape(a, [-1, 24]) as tf.Tensor2D;
    const native = nativeTrainingBatchNorm(flat, g as tf.Tensor1D, b as tf.Tensor1D, epsilon);
    let normalised: tf.Tensor;
    if (native) {
      tf.dispose([native.mean, native.unbiasedVariance]);
      normalised = native.y;
    } else {
      const { mean, variance } = tf.moments(flat, 0);
      normalised = tf.batchNorm(flat, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, epsilon);
    }
    return tf.relu(tf.add(tf.reshape(normalised, a.shape), r));
  };
  const names = ['x', 'gamma', 'beta', 'residual'];
  const inputs = [x, gamma, beta, residual];
  const result = agreement(
    'batch norm + residual + ReLU (training)',
    'egtea-kernel',
    'tensorflow-fused-batch-norm',
    forwardAndGradients(egtea, inputs, names, 25),
    forwardAndGradients(tensorflow, inputs, names, 25),
    TOLERANCE,
  );
  tf.dispose([...inputs, runningMean, runningVar]);
  return [result];
}

function maxPoolChecks(): OpAgreement[] {
  if (currentImplementations().maxPool3d !== 'egtea-kernel') return [];
  const x = tf.randomNormal([2, 6, 11, 11, 8], 0, 1, 'float32', 31);
  const tensorflow = (a: tf.Tensor) =>
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
        -Infinity,
      ) as tf.Tensor5D,
      3,
      2,
      'valid',
    );
  const result = agreement(
    '3D max pooling',
    'egtea-kernel',
    'tensorflow-max-pool3d',
    forwardAndGradients((a) => maxPool3d(a as tf.Tensor5D, 3, 2, 1), [x], ['x'], 32),
    forwardAndGradients(tensorflow, [x], ['x'], 32),
    TOLERANCE,
  );
  x.dispose();
  return [result];
}

/**
 * Every op with more than one implementation here, each against TensorFlow's own on small
 * shapes: forward values and the gradient of every input. On a GPU that is TensorFlow's grouped
 * Conv3D against its convolutions per group (egtea's CPU kernels are not used there).
 */
export function checkOps(device: Device | null): OpAgreement[] {
  return [...groupedConvChecks(device), ...batchNormChecks(), ...maxPoolChecks()];
}
