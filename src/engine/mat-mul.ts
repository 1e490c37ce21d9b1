import * as tf from '@tensorflow/tfjs-core';
import { boolAttr, floatTypeAttr, nativeBackend, type NativeBackend } from './native-backend.js';

/**
 * x [N, in] times w [in, out], with gradients.
 *
 * On TensorFlow this runs MatMul forward and back (the transposes as the op's flags). tfjs's own
 * matMul runs BatchMatMulV2 on a batch of one, about 50 us slower per call on a fully connected
 * layer of LeNet's size, and a training step makes three calls per layer.
 */
export function matMul(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (x.shape[1] !== w.shape[0]) throw new Error(`matMul: inner sizes differ, [${x.shape}] x [${w.shape}]`);
  const backend = nativeBackend();
  if (backend === null) return tf.matMul(x, w);
  return nativeMatMul(backend, x, w);
}

function nativeMatMul(backend: NativeBackend, x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const product = (a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean) =>
    backend.executeSingleOutput(
      'MatMul',
      [floatTypeAttr(backend), boolAttr(backend, 'transpose_a', transposeA), boolAttr(backend, 'transpose_b', transposeB)],
      [a, b],
    );
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: product(a, b, false, false),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [product(dy, saved[1]!, false, true), product(saved[0]!, dy, true, false)],
    };
  });
  return op(x, w) as tf.Tensor2D;
}
