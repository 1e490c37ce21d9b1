import * as tf from '@tensorflow/tfjs-core';
import { floatTypeAttr, nativeBackend, stringAttr, type NativeBackend } from './native-backend.js';

export type Activation = 'linear' | 'relu';

/**
 * act(x + bias), the bias broadcast over the last (channel) axis, with gradients.
 *
 * On TensorFlow this is BiasAdd and Relu forward and ReluGrad and BiasAddGrad backward: four
 * native ops. tfjs's own route (add, relu, and a relu gradient built from its composite `step`)
 * runs about a dozen eager ops per layer, and in small models that dispatch dominates the step.
 */
export function biasActivation<T extends tf.Tensor>(x: T, bias: tf.Tensor1D | null, activation: Activation): T {
  if (bias === null && activation === 'linear') return x;
  const backend = nativeBackend();
  if (backend === null) {
    return tf.tidy(() => {
      const shifted = bias === null ? x : tf.add(x, bias);
      return (activation === 'relu' ? tf.relu(shifted) : shifted) as T;
    });
  }
  return tf.tidy(() => nativeBiasActivation(backend, x, bias, activation) as T);
}

function nativeBiasActivation(backend: NativeBackend, x: tf.Tensor, bias: tf.Tensor1D | null, activation: Activation): tf.Tensor {
  const biasAttrs = [floatTypeAttr(backend), stringAttr(backend, 'data_format', 'NHWC')];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const shifted = bias === null ? input : backend.executeSingleOutput('BiasAdd', biasAttrs, [input, args[1] as tf.Tensor1D]);
    const y = activation === 'relu' ? backend.executeSingleOutput('Relu', [floatTypeAttr(backend)], [shifted]) : shifted;
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dz = activation === 'relu' ? backend.executeSingleOutput('ReluGrad', [floatTypeAttr(backend)], [dy, saved[0]!]) : dy;
        return bias === null ? [dz] : [dz, backend.executeSingleOutput('BiasAddGrad', biasAttrs, [dz])];
      },
    };
  });
  return bias === null ? op(x) : op(x, bias);
}
