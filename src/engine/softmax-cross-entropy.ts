import * as tf from '@tensorflow/tfjs-core';
import { floatTypeAttr, int32TypeAttr, nativeBackend } from './native-backend.js';

/**
 * -log softmax(logits)[label] for each sample, finite for logits of any size.
 *
 * On TensorFlow one native op (SparseSoftmaxCrossEntropyWithLogits) gives the losses and their
 * gradient together, where log-softmax, one-hot, product and sum take some thirty eager ops
 * forward and back. It also refuses a label outside [0, classes) instead of scoring it 0.
 */
export function softmaxCrossEntropy(labels: tf.Tensor1D, logits: tf.Tensor2D): tf.Tensor1D {
  const backend = nativeBackend();
  return tf.tidy(() => {
    const classes = tf.cast(labels, 'int32');
    if (backend === null) {
      const logProbabilities = tf.logSoftmax(logits);
      return tf.neg(tf.sum(tf.mul(tf.oneHot(classes, logits.shape[1]), logProbabilities), 1)) as tf.Tensor1D;
    }
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [scores, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
      const [losses, gradient] = backend.executeMultipleOutputs(
        'SparseSoftmaxCrossEntropyWithLogits',
        [floatTypeAttr(backend), int32TypeAttr(backend, 'Tlabels')],
        [scores, classes],
        2,
      );
      save([gradient!]);
      return {
        value: losses!,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.expandDims(dy, 1), saved[0]!),
      };
    });
    return op(logits) as tf.Tensor1D;
  });
}
