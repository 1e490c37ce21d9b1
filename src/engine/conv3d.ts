import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './mat-mul.js';
import type { Triple } from './conv-size.js';
import { groupedConvImpl, resolveGroupedConvImpl, type GroupedConvImpl } from './dispatch.js';
import { checkGroupedShapes, groupedConv3d } from './grouped-conv3d.js';
import { kernelGroupedConv3d } from './grouped-conv3d-kernel.js';
import { subsample3d } from './subsample.js';

export interface Conv3dSpec {
  kernel: Triple;
  stride: Triple;
  /** Zeros added on both sides of each axis, as PyTorch's `padding`. */
  padding: Triple;
  groups: number;
}

/**
 * A 3D convolution with PyTorch's symmetric padding. TensorFlow's 'same' pads asymmetrically
 * when the stride is 2, which would shift every strided layer by one pixel against a PyTorch
 * checkpoint, so strided or unusual paddings go through an explicit pad and 'valid'.
 */
export function conv3d(x: tf.Tensor5D, filter: tf.Tensor5D, spec: Conv3dSpec, impl: GroupedConvImpl = groupedConvImpl()): tf.Tensor5D {
  const { kernel, stride, padding, groups } = spec;
  checkGroupedShapes(x, filter, groups);
  if (groups === 1 && kernel.every((v) => v === 1) && padding.every((p) => p === 0)) return pointwiseConv3d(x, filter, stride);
  const resolved = groups === 1 ? 'tensorflow-conv3d' : resolveGroupedConvImpl(impl);
  if (resolved === 'egtea-kernel') return kernelGroupedConv3d(x, filter, stride, padding, groups);
  const isSame = kernel.every((k, i) => stride[i] === 1 && k % 2 === 1 && padding[i] === (k - 1) / 2);
  if (isSame) return groupedConv3d(x, filter, stride, 'same', groups, resolved);
  if (padding.every((p) => p === 0)) return groupedConv3d(x, filter, stride, 'valid', groups, resolved);
  return tf.tidy(() => {
    const padded = tf.pad(x, [
      [0, 0],
      [padding[0], padding[0]],
      [padding[1], padding[1]],
      [padding[2], padding[2]],
      [0, 0],
    ]);
    return groupedConv3d(padded as tf.Tensor5D, filter, stride, 'valid', groups, resolved);
  });
}

/**
 * A 1x1x1 convolution is a matrix product over the channel axis (of every stride-th position);
 * TensorFlow's matmul is faster than its conv3d, and much faster than its strided conv3d's gradient.
 */
function pointwiseConv3d(x: tf.Tensor5D, filter: tf.Tensor5D, stride: Triple): tf.Tensor5D {
  return tf.tidy(() => {
    const [inChannels, outChannels] = filter.shape.slice(3) as [number, number];
    const strided = stride.every((s) => s === 1) ? x : subsample3d(x, stride);
    const product = matMul(tf.reshape(strided, [-1, inChannels]) as tf.Tensor2D, tf.reshape(filter, [inChannels, outChannels]) as tf.Tensor2D);
    const [n, t, h, w] = strided.shape;
    return tf.reshape(product, [n, t, h, w, outChannels]) as tf.Tensor5D;
  });
}
