import * as tf from '@tensorflow/tfjs-core';
import { biasActivation, type Activation } from '../engine/bias-activation.js';
import { conv3d, type Conv3dSpec } from '../engine/conv3d.js';
import { batchNorm } from '../engine/batch-norm.js';
import { matMul } from '../engine/mat-mul.js';
import type { Triple } from '../engine/conv-size.js';
import type { ForwardContext } from './context.js';
import type { FlattenedMapLayout, Parameters } from './parameters.js';

// Building blocks shared by the model families. Each creates its parameters under PyTorch's
// names and initialises them as PyTorch does.

export interface Conv3dLayer {
  spec: Conv3dSpec;
  weight: tf.Variable;
}

/** A bias-free 3D convolution, kaiming-normal (fan_out, ReLU) as in 3D-ResNets-PyTorch. */
export function createConv3d(
  params: Parameters,
  name: string,
  inChannels: number,
  outChannels: number,
  options: { kernel: Triple; stride?: Triple; padding?: Triple; groups?: number },
): Conv3dLayer {
  const { kernel, stride = [1, 1, 1], padding = [0, 0, 0], groups = 1 } = options;
  const fanOut = outChannels * kernel[0] * kernel[1] * kernel[2];
  const std = Math.sqrt(2 / fanOut);
  const shape = [...kernel, inChannels / groups, outChannels];
  const weight = params.add(`${name}.weight`, tf.randomNormal(shape, 0, std, 'float32', params.seedFor(name)), 'conv3d');
  return { spec: { kernel, stride, padding, groups }, weight };
}

export function applyConv3d(layer: Conv3dLayer, x: tf.Tensor5D, context: ForwardContext): tf.Tensor5D {
  const y = conv3d(x, layer.weight as tf.Tensor5D, layer.spec);
  if (context.macs) {
    const [kt, kh, kw, groupIn] = layer.weight.shape as number[];
    context.macs.count += y.size * groupIn! * kt! * kh! * kw!;
  }
  return y;
}

export interface Conv2dLayer {
  stride: number;
  padding: number;
  weight: tf.Variable;
  bias: tf.Variable | null;
}

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  /** 'torch-default': kaiming-uniform (a = sqrt 5) with bias; 'fan-in' / 'fan-out': kaiming-normal for ReLU. */
  init?: 'torch-default' | 'fan-in' | 'fan-out';
}

/** A 2D convolution, initialised as the PyTorch code of its model family does. */
export function createConv2d(
  params: Parameters,
  name: string,
  inChannels: number,
  outChannels: number,
  kernel: number,
  options: Conv2dOptions = {},
): Conv2dLayer {
  const { stride = 1, padding = 0, bias = true, init = 'torch-default' } = options;
  const seed = params.seedFor(name);
  const shape = [kernel, kernel, inChannels, outChannels];
  const fanIn = inChannels * kernel * kernel;
  const bound = 1 / Math.sqrt(fanIn);
  const initial =
    init === 'torch-default'
      ? tf.randomUniform(shape, -bound, bound, 'float32', seed)
      : tf.randomNormal(shape, 0, Math.sqrt(2 / (init === 'fan-in' ? fanIn : outChannels * kernel * kernel)), 'float32', seed);
  const weight = params.add(`${name}.weight`, initial, 'conv2d');
  const biasVariable = bias ? params.add(`${name}.bias`, tf.randomUniform([outChannels], -bound, bound, 'float32', seed + 1), 'vector') : null;
  return { stride, padding, weight, bias: biasVariable };
}

/** Convolution, then bias and activation (native BiasAdd/Relu and their gradients: see bias-activation.ts). */
export function applyConv2d(layer: Conv2dLayer, x: tf.Tensor4D, context: ForwardContext, activation: Activation = 'linear'): tf.Tensor4D {
  const y = tf.tidy(() => {
    const { padding: p, stride } = layer;
    const [kernel] = layer.weight.shape as number[];
    // PyTorch pads symmetrically; TensorFlow's 'same' does not when strided.
    const same = stride === 1 && kernel! % 2 === 1 && p === (kernel! - 1) / 2;
    const input =
      same || p === 0
        ? x
        : (tf.pad(x, [
            [0, 0],
            [p, p],
            [p, p],
            [0, 0],
          ]) as tf.Tensor4D);
    const convolved = tf.conv2d(input, layer.weight as tf.Tensor4D, stride, same ? 'same' : 'valid');
    return biasActivation(convolved, layer.bias as tf.Tensor1D | null, activation);
  });
  if (context.macs) {
    const [kh, kw, inChannels] = layer.weight.shape as number[];
    context.macs.count += y.size * inChannels! * kh! * kw!;
  }
  return y;
}

export interface BatchNormLayer {
  weight: tf.Variable;
  bias: tf.Variable;
  runningMean: tf.Variable;
  runningVar: tf.Variable;
  momentum: number;
  epsilon: number;
}

/** Batch norm over the last (channel) axis; PyTorch's defaults: momentum 0.1, eps 1e-5. */
export function createBatchNorm(params: Parameters, name: string, channels: number): BatchNormLayer {
  return {
    weight: params.add(`${name}.weight`, tf.ones([channels]), 'vector'),
    bias: params.add(`${name}.bias`, tf.zeros([channels]), 'vector'),
    runningMean: params.add(`${name}.running_mean`, tf.zeros([channels]), 'vector', false),
    runningVar: params.add(`${name}.running_var`, tf.ones([channels]), 'vector', false),
    momentum: 0.1,
    epsilon: 1e-5,
  };
}

export interface BatchNormExtras {
  /** Added after normalisation, before the activation: a residual block's shortcut. */
  residual?: tf.Tensor;
  relu?: boolean;
}

/** act(BN(x) [+ residual]) on the implementation the engine chooses; in training, the running statistics' updates go to the context. */
export function applyBatchNorm<T extends tf.Tensor>(layer: BatchNormLayer, x: T, context: ForwardContext, extras: BatchNormExtras = {}): T {
  const { y, statistics } = batchNorm(x, layer, { training: context.training, ...extras });
  if (statistics) {
    tf.tidy(() => recordRunningStatistics(layer, context, statistics.mean, statistics.unbiasedVariance));
    tf.dispose([statistics.mean, statistics.unbiasedVariance]);
  }
  return y;
}

/** Running averages as PyTorch keeps them: momentum 0.1, unbiased variance. Kept past every tidy until applied. */
function recordRunningStatistics(layer: BatchNormLayer, context: ForwardContext, mean: tf.Tensor, unbiasedVariance: tf.Tensor): void {
  const m = layer.momentum;
  context.batchNormUpdates.push(
    { variable: layer.runningMean, value: tf.keep(tf.add(tf.mul(layer.runningMean, 1 - m), tf.mul(mean, m))), decay: 1 - m },
    { variable: layer.runningVar, value: tf.keep(tf.add(tf.mul(layer.runningVar, 1 - m), tf.mul(unbiasedVariance, m))), decay: 1 - m },
  );
}

export interface LinearLayer {
  weight: tf.Variable;
  bias: tf.Variable;
}

/**
 * A fully connected layer, PyTorch's default init; the weight is stored [in, out]. `input`
 * describes a flattened feature map when the layer follows one (see FlattenedMapLayout).
 */
export function createLinear(params: Parameters, name: string, inFeatures: number, outFeatures: number, input?: FlattenedMapLayout): LinearLayer {
  const bound = 1 / Math.sqrt(inFeatures);
  const seed = params.seedFor(name);
  if (input && input.height * input.width * input.channels !== inFeatures)
    throw new Error(`${name}: a ${input.height}x${input.width}x${input.channels} map does not flatten to ${inFeatures} features`);
  return {
    weight: params.add(`${name}.weight`, tf.randomUniform([inFeatures, outFeatures], -bound, bound, 'float32', seed), input ?? 'linear'),
    bias: params.add(`${name}.bias`, tf.randomUniform([outFeatures], -bound, bound, 'float32', seed + 1), 'vector'),
  };
}

/** Product, then bias and activation (native MatMul, BiasAdd, Relu and their gradients: see engine/). */
export function applyLinear(layer: LinearLayer, x: tf.Tensor2D, context: ForwardContext, activation: Activation = 'linear'): tf.Tensor2D {
  if (context.macs) context.macs.count += x.shape[0] * layer.weight.size;
  return tf.tidy(() => biasActivation(matMul(x, layer.weight as tf.Tensor2D), layer.bias as tf.Tensor1D, activation));
}

/** Single-frame clips [N, 1, H, W, C] as images [N, H, W, C]. */
export function framesAsImages(clips: tf.Tensor5D, arch: string): tf.Tensor4D {
  const [n, t, h, w, c] = clips.shape;
  if (t !== 1) throw new Error(`${arch} takes single-frame clips; got ${t} frames`);
  return tf.reshape(clips, [n, h, w, c]) as tf.Tensor4D;
}
