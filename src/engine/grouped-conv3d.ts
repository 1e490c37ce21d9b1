import * as tf from '@tensorflow/tfjs-core';
import type { Triple } from './conv-size.js';
import { groupedConvImpl, resolveGroupedConvImpl, type GroupedConvImpl } from './dispatch.js';
import { floatTypeAttr, int32TypeAttr, intsAttr, nativeBackend, stringAttr, type NativeBackend, type OpAttr } from './native-backend.js';

function convAttrs(backend: NativeBackend, strides: Triple, padding: 'SAME' | 'VALID'): OpAttr[] {
  return [
    floatTypeAttr(backend),
    intsAttr(backend, 'strides', [1, ...strides, 1]),
    stringAttr(backend, 'padding', padding),
    stringAttr(backend, 'data_format', 'NDHWC'),
    intsAttr(backend, 'dilations', [1, 1, 1, 1, 1]),
  ];
}

function nativeGroupedConv3d(x: tf.Tensor5D, filter: tf.Tensor5D, strides: Triple, padding: 'same' | 'valid'): tf.Tensor5D {
  const backend = nativeBackend();
  if (backend === null) throw new Error('native grouped conv3d needs the tensorflow backend');
  const attrs = convAttrs(backend, strides, padding === 'same' ? 'SAME' : 'VALID');
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, kernel, save] = args as [tf.Tensor5D, tf.Tensor5D, tf.GradSaveFunc];
    save([input, kernel]);
    const value = backend.executeSingleOutput('Conv3D', attrs, [input, kernel]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedKernel] = saved as [tf.Tensor5D, tf.Tensor5D];
        const inputShape = tf.tensor1d(savedInput.shape, 'int32');
        const kernelShape = tf.tensor1d(savedKernel.shape, 'int32');
        const dx = backend.executeSingleOutput('Conv3DBackpropInputV2', [...attrs, int32TypeAttr(backend, 'Tshape')], [inputShape, savedKernel, dy]);
        const dk = backend.executeSingleOutput('Conv3DBackpropFilterV2', attrs, [savedInput, kernelShape, dy]);
        inputShape.dispose();
        kernelShape.dispose();
        return [dx, dk];
      },
    };
  });
  return op(x, filter) as tf.Tensor5D;
}

function splitGroupedConv3d(x: tf.Tensor5D, filter: tf.Tensor5D, strides: Triple, padding: 'same' | 'valid', groups: number): tf.Tensor5D {
  return tf.tidy(() => {
    const inputs = tf.split(x, groups, 4) as tf.Tensor5D[];
    const kernels = tf.split(filter, groups, 4) as tf.Tensor5D[];
    const outputs = inputs.map((input, g) => tf.conv3d(input, kernels[g]!, strides, padding));
    return tf.concat(outputs, 4) as tf.Tensor5D;
  });
}

export function checkGroupedShapes(x: tf.Tensor5D, filter: tf.Tensor5D, groups: number): void {
  const inChannels = x.shape[4];
  const [, , , groupIn, outChannels] = filter.shape;
  if (groupIn * groups !== inChannels || outChannels % groups !== 0) {
    throw new Error(`grouped conv3d: input has ${inChannels} channels and the filter ${groupIn} x ${groups} groups -> ${outChannels}; they do not divide`);
  }
}

/**
 * Grouped 3D convolution, channels-last, with gradients.
 * `filter` is [kt, kh, kw, inChannels / groups, outChannels]; output channels are ordered
 * group by group, as in TensorFlow and PyTorch (PyTorch's [out, in/g, kt, kh, kw] transposed).
 */
export function groupedConv3d(
  x: tf.Tensor5D,
  filter: tf.Tensor5D,
  strides: Triple,
  padding: 'same' | 'valid',
  groups: number,
  impl: GroupedConvImpl = groupedConvImpl(),
): tf.Tensor5D {
  checkGroupedShapes(x, filter, groups);
  if (groups === 1) return tf.conv3d(x, filter, strides, padding);
  if (impl === 'egtea-kernel') throw new Error("egtea's kernel takes PyTorch padding: call conv3d() from conv3d.ts");
  // 'auto' on a CPU with egtea's kernel still splits here: the kernel goes through conv3d().
  if (resolveGroupedConvImpl(impl) === 'tensorflow-conv3d') return nativeGroupedConv3d(x, filter, strides, padding);
  return splitGroupedConv3d(x, filter, strides, padding, groups);
}
