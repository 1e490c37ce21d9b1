import * as tf from '@tensorflow/tfjs';
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
  return tf.tidy(() => (bias === null ? nativeRelu(backend, x) : nativeBiasActivation(backend, x, bias, activation)) as T);
}

function nativeBiasActivation(backend: NativeBackend, x: tf.Tensor, bias: tf.Tensor1D, activation: Activation): tf.Tensor {
  const biasAttrs = [floatTypeAttr(backend), stringAttr(backend, 'data_format', 'NHWC')];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.GradSaveFunc];
    const shifted = backend.executeSingleOutput('BiasAdd', biasAttrs, [input, b]);
    const y = activation === 'relu' ? backend.executeSingleOutput('Relu', [floatTypeAttr(backend)], [shifted]) : shifted;
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dz = activation === 'relu' ? backend.executeSingleOutput('ReluGrad', [floatTypeAttr(backend)], [dy, saved[0]!]) : dy;
        return [dz, backend.executeSingleOutput('BiasAddGrad', biasAttrs, [dz])];
      },
    };
  });
  return op(x, bias);
}

function nativeRelu(backend: NativeBackend, x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const y = backend.executeSingleOutput('Relu', [floatTypeAttr(backend)], [input]);
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backend.executeSingleOutput('ReluGrad', [floatTypeAttr(backend)], [dy, saved[0]!]),
    };
  });
  return op(x);
}
