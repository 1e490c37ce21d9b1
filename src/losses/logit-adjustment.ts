import * as tf from '@tensorflow/tfjs-core';
import { weightedCrossEntropy } from './cross-entropy.js';

/**
 * log pi_c of the training prior pi_c = n_c / N. A class without training samples counts as
 * having one, so its log prior stays finite (as the count-based weights treat it).
 */
export function logPrior(counts: readonly number[]): number[] {
  if (counts.length === 0) throw new Error('no class counts');
  counts.forEach((n, c) => {
    if (!Number.isFinite(n) || n < 0) throw new Error(`class ${c}: count ${n} is not a non-negative number`);
  });
  const floored = counts.map((n) => Math.max(n, 1));
  const total = floored.reduce((a, b) => a + b, 0);
  return floored.map((n) => Math.log(n / total));
}

/** The per-class offsets t log pi_c that logit adjustment adds to the logits (t >= 0). */
export function logitAdjustment(counts: readonly number[], t: number): number[] {
  if (!(Number.isFinite(t) && t >= 0)) throw new Error(`the logit adjustment's t ${t} must be a number >= 0`);
  return logPrior(counts).map((l) => t * l);
}

/**
 * Softmax cross-entropy of the logits plus per-class offsets: with offsets log pi_c this is
 * Balanced Softmax (Ren et al., NeurIPS 2020), with t log pi_c the logit-adjusted loss (Menon et
 * al., ICLR 2021). Rare classes get their logits lowered during training, so the model learns
 * to raise them; at test time the plain logits are used.
 */
export function logitAdjustedLoss(labels: tf.Tensor1D, logits: tf.Tensor2D, offsets: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => weightedCrossEntropy(labels, tf.add(logits, offsets) as tf.Tensor2D, null));
}
