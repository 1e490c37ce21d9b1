import type * as tf from '@tensorflow/tfjs-core';

/** A running-statistics update that batch norm asks for during a training forward pass. */
export interface BatchNormUpdate {
  variable: tf.Variable;
  value: tf.Tensor;
  /** value = variable * decay + (1 - decay) * batch statistic; data-parallel workers combine by it. */
  decay: number;
}

/**
 * What a forward pass needs to know beyond its input. Batch-norm updates are collected, not
 * applied, because the forward pass runs inside the optimizer's gradient tape.
 */
export interface ForwardContext {
  training: boolean;
  batchNormUpdates: BatchNormUpdate[];
  /** When present, layers add their multiply-accumulates here (as the reference's hooks count them). */
  macs?: { count: number };
}

export function trainingContext(): ForwardContext {
  return { training: true, batchNormUpdates: [] };
}

export function inferenceContext(): ForwardContext {
  return { training: false, batchNormUpdates: [] };
}

export function countingContext(): ForwardContext & { macs: { count: number } } {
  return { training: false, batchNormUpdates: [], macs: { count: 0 } };
}

/** Moves the collected running statistics into their variables and frees them. */
export function applyBatchNormUpdates(context: ForwardContext): void {
  for (const { variable, value } of context.batchNormUpdates) {
    variable.assign(value);
    value.dispose();
  }
  context.batchNormUpdates.length = 0;
}
