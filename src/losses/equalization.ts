import * as tf from '@tensorflow/tfjs-core';
import type { SeededRandom } from '../util/random.js';

/**
 * Equalization loss (Tan et al., CVPR 2020) as the CDB authors' code applies it to
 * classification: sigmoid binary cross-entropy over all classes with weights
 * w_ic = 1 - beta * T(f_c) * (1 - y_ic), where T(f_c) = 1 for classes rarer than lambda
 * (f_c = n_c / N) and beta is one Bernoulli(gamma) draw per batch. It stops the negative
 * gradients that rare classes receive from other classes' samples.
 */
export function equalizationLoss(labels: tf.Tensor1D, logits: tf.Tensor2D, rareMask: tf.Tensor1D, beta: 0 | 1): tf.Scalar {
  return tf.tidy(() => {
    const targets = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]), 'float32');
    // Stable BCE with logits: max(z, 0) - z*y + log(1 + exp(-|z|)).
    const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const suppressed = tf.mul(tf.mul(rareMask, beta), tf.sub(1, targets));
    const weights = tf.sub(1, suppressed);
    return tf.mean(tf.sum(tf.mul(weights, bce), 1)) as tf.Scalar;
  });
}

/** T(f_c): 1 where the class frequency is below lambda. */
export function rareClassMask(counts: readonly number[], lambda: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((n) => (total > 0 && n / total < lambda ? 1 : 0));
}

export function drawBeta(random: Pick<SeededRandom, 'bernoulli'>, gamma: number): 0 | 1 {
  return random.bernoulli(gamma) ? 1 : 0;
}
