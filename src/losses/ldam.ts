import * as tf from '@tensorflow/tfjs-core';
import { weightedCrossEntropy, type Reduction } from './cross-entropy.js';

/**
 * LDAM loss (Cao et al., NeurIPS 2019): the true class's logit is lowered by its margin m_y,
 * the logits scaled by s, then (weighted) softmax cross-entropy.
 */
export function ldamLoss(
  labels: tf.Tensor1D,
  logits: tf.Tensor2D,
  margins: tf.Tensor1D,
  scale: number,
  classWeights: tf.Tensor1D | null,
  reduction: Reduction = 'weighted',
): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]), 'float32');
    const shifted = tf.sub(logits, tf.mul(oneHot, margins));
    return weightedCrossEntropy(labels, tf.mul(shifted, scale) as tf.Tensor2D, classWeights, reduction);
  });
}
