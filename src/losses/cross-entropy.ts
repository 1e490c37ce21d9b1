import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '../engine/softmax-cross-entropy.js';

/**
 * - `mean`: the batch mean of w_y * loss_i (the authors' CDB code and torch's reduction='none' then mean).
 * - `weighted`: sum of w_y * loss_i over the sum of w_y (torch's CrossEntropyLoss(weight=...)).
 */
export type Reduction = 'mean' | 'weighted';

/** Reduces per-sample losses with per-class weights (null: unweighted mean). */
export function reduceWeighted(perSample: tf.Tensor1D, labels: tf.Tensor1D, classWeights: tf.Tensor1D | null, reduction: Reduction): tf.Scalar {
  return tf.tidy(() => {
    if (classWeights === null) return tf.mean(perSample) as tf.Scalar;
    // A one-hot product, not tf.gather: tfjs-node's gather reads the labels into JavaScript to
    // check them, which would keep the training step from running as one graph.
    const sampleWeights = tf.sum(tf.mul(tf.oneHot(tf.cast(labels, 'int32'), classWeights.shape[0]), classWeights), 1);
    const weighted = tf.mul(sampleWeights, perSample);
    if (reduction === 'mean') return tf.mean(weighted) as tf.Scalar;
    // A batch whose classes all weigh 0 contributes 0, not 0/0.
    return tf.div(tf.sum(weighted), tf.maximum(tf.sum(sampleWeights), 1e-12)) as tf.Scalar;
  });
}

/** Softmax cross-entropy (-log p_y, finite for logits of any size) reduced with per-class weights. */
export function weightedCrossEntropy(labels: tf.Tensor1D, logits: tf.Tensor2D, classWeights: tf.Tensor1D | null, reduction: Reduction = 'mean'): tf.Scalar {
  return tf.tidy(() => reduceWeighted(softmaxCrossEntropy(labels, logits), labels, classWeights, reduction));
}
