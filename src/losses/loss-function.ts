import type * as tf from '@tensorflow/tfjs-core';

/** A loss as a training step calls it: integer labels and logits in, a scalar out. */
export type LossFunction = (labels: tf.Tensor1D, logits: tf.Tensor2D) => tf.Scalar;

/**
 * Tensors made before a step that the step reads (an optimizer's buffers, a loss's class
 * weights), so a GraphStep can feed them instead of baking them in; null when the part
 * cannot run inside a graph at all.
 */
export interface GraphInputs {
  graphInputs(): tf.Tensor[] | null;
}

/** Where training is when a batch starts. */
export interface BatchProgress {
  /** The epoch being trained (1-based). */
  epoch: number;
  /** The batch about to be trained (0-based). */
  batch: number;
  /** The generator for this batch's random draws (EQL), keyed by epoch and batch so a resumed run draws the same. */
  random?: { bernoulli(probability: number): boolean };
}

/** What a loss learned from one validation: CDB's new class weights; null for losses without. */
export interface EpochUpdate {
  tau: number;
  weights: number[];
  warnings: string[];
}

/**
 * How training progress reaches a loss, and the only way: before every batch, and after every
 * epoch's validation (per-class accuracy, null for a class without samples).
 */
export interface LossProgress {
  beginBatch(progress: BatchProgress): void;
  endEpoch(epoch: number, accuracy: readonly (number | null)[]): EpochUpdate | null;
}
