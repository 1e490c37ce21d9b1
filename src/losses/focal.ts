import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropy } from '../engine/softmax-cross-entropy.js';
import { reduceWeighted, type Reduction } from './cross-entropy.js';

/**
 * Softmax focal loss (Lin et al., ICCV 2017): -(1 - p_t)^gamma log p_t per sample, with optional
 * per-class weights (alpha, or class-balanced weights for cb-focal).
 */
export function focalLoss(labels: tf.Tensor1D, logits: tf.Tensor2D, gamma: number, classWeights: tf.Tensor1D | null, reduction: Reduction = 'mean'): tf.Scalar {
  return tf.tidy(() => {
    const logPt = tf.neg(softmaxCrossEntropy(labels, logits));
    // 1 - p_t as -expm1(log p_t): exact when p_t is close to 1.
    const oneMinusPt = tf.relu(tf.neg(tf.expm1(logPt)));
    const modulator = gamma === 0 ? tf.onesLike(logPt) : tf.pow(oneMinusPt, gamma);
    const perSample = tf.neg(tf.mul(modulator, logPt)) as tf.Tensor1D;
    return reduceWeighted(perSample, labels, classWeights, reduction);
  });
}
