import * as tf from '@tensorflow/tfjs-core';
import type { Triple } from './conv-size.js';
import { convOutputSize } from './conv-size.js';
import { kernelOpsAvailable } from './kernel-ops.js';
import { KERNEL_ADDON_PATH, kernelThreads, loadKernels } from './kernels.js';
import { intsAttr, nativeBackend, type NativeBackend, type OpAttr } from './native-backend.js';

function f32(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/**
 * Grouped conv3d through egtea's kernel, with PyTorch's symmetric padding, as a tfjs op with
 * gradients: as TensorFlow ops when registered (kernel-ops.ts), else through the N-API module,
 * where the data crosses into the kernel and back once per call.
 */
export function kernelGroupedConv3d(x: tf.Tensor5D, filter: tf.Tensor5D, stride: Triple, padding: Triple, groups: number): tf.Tensor5D {
  const backend = nativeBackend();
  if (backend !== null && kernelOpsAvailable()) return groupedConv3dOp(backend, x, filter, stride, padding, groups);
  const k = loadKernels();
  if (k === null) throw new Error(`egtea's kernels are not built (${KERNEL_ADDON_PATH}); run \`npx egtea engine install\``);
  const [n, t, h, w, c] = x.shape;
  const [kt, kh, kw, , cout] = filter.shape;
  const outShape: [number, number, number, number, number] = [
    n,
    convOutputSize(t, kt, stride[0], padding[0]),
    convOutputSize(h, kh, stride[1], padding[1]),
    convOutputSize(w, kw, stride[2], padding[2]),
    cout,
  ];
  const dims = Int32Array.from([n, t, h, w, c, outShape[1], outShape[2], outShape[3], cout, kt, kh, kw, ...stride, ...padding, groups, kernelThreads()]);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, kernel, save] = args as [tf.Tensor5D, tf.Tensor5D, tf.GradSaveFunc];
    save([input, kernel]);
    const y = new Float32Array(outShape.reduce((a, b) => a * b, 1));
    k.groupedConv3dForward(dims, f32(input), f32(kernel), y);
    return {
      value: tf.tensor5d(y, outShape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedKernel] = saved as [tf.Tensor5D, tf.Tensor5D];
        const dyData = f32(dy);
        const dw = new Float32Array(savedKernel.size);
        k.groupedConv3dBackwardFilter(dims, f32(savedInput), dyData, dw);
        const dx = new Float32Array(savedInput.size);
        k.groupedConv3dBackwardInput(dims, dyData, f32(savedKernel), dx);
        return [tf.tensor5d(dx, savedInput.shape), tf.tensor5d(dw, savedKernel.shape)];
      },
    };
  });
  return op(x, filter) as tf.Tensor5D;
}

function intAttr(backend: NativeBackend, name: string, value: number): OpAttr {
  return { name, type: backend.binding.TF_ATTR_INT, value };
}

/** The same convolution as TensorFlow ops on TensorFlow's buffers (src/engine/native/tf_ops.cc). */
function groupedConv3dOp(backend: NativeBackend, x: tf.Tensor5D, filter: tf.Tensor5D, stride: Triple, padding: Triple, groups: number): tf.Tensor5D {
  const attrs = [
    intsAttr(backend, 'strides', stride),
    intsAttr(backend, 'padding', padding),
    intAttr(backend, 'groups', groups),
    intAttr(backend, 'threads', kernelThreads()),
  ];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, kernel, save] = args as [tf.Tensor5D, tf.Tensor5D, tf.GradSaveFunc];
    save([input, kernel]);
    return {
      value: backend.executeSingleOutput('EgteaGroupedConv3D', attrs, [input, kernel]) as tf.Tensor5D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedKernel] = saved as [tf.Tensor5D, tf.Tensor5D];
        const dx = backend.executeSingleOutput('EgteaGroupedConv3DBackpropInput', [...attrs, intsAttr(backend, 'shape', savedInput.shape)], [savedKernel, dy]);
        const dw = backend.executeSingleOutput('EgteaGroupedConv3DBackpropFilter', [...attrs, intsAttr(backend, 'shape', savedKernel.shape)], [savedInput, dy]);
        return [dx, dw];
      },
    };
  });
  return op(x, filter) as tf.Tensor5D;
}
