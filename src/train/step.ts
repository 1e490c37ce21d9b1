import * as tf from '@tensorflow/tfjs';
import { applyBatchNormUpdates, trainingContext } from '../models/context.js';
import type { ClipModel } from '../models/model.js';

/** A loss as the trainer calls it: integer labels and logits in, a scalar out. */
export type LossFunction = (labels: tf.Tensor1D, logits: tf.Tensor2D) => tf.Scalar;

/**
 * One optimisation step: forward, loss, backward, update, then the batch-norm statistics.
 * Returns the loss value. Everything it makes is freed before it returns.
 */
export function trainStep(
  model: ClipModel,
  optimizer: tf.Optimizer,
  loss: LossFunction,
  clips: tf.Tensor5D,
  labels: tf.Tensor1D,
): number {
  const context = trainingContext();
  const value = optimizer.minimize(() => loss(labels, model.forward(clips, context)), true, model.parameters.trainableVariables());
  applyBatchNormUpdates(context);
  if (!value) throw new Error('the optimizer returned no loss');
  const result = value.dataSync()[0]!;
  value.dispose();
  return result;
}

/**
 * Gradient accumulation: the gradients of several micro-batches, averaged, then one update,
 * so one device reaches the effective batch of several.
 */
export function accumulatedTrainStep(
  model: ClipModel,
  optimizer: tf.Optimizer,
  loss: LossFunction,
  microBatches: { clips: tf.Tensor5D; labels: tf.Tensor1D }[],
): number {
  const variables = model.parameters.trainableVariables();
  let sums: tf.Tensor[] | null = null;
  let total = 0;
  for (const { clips, labels } of microBatches) {
    const context = trainingContext();
    const { value, grads } = tf.variableGrads(() => loss(labels, model.forward(clips, context)), variables);
    applyBatchNormUpdates(context);
    total += value.dataSync()[0]!;
    value.dispose();
    const ordered = variables.map((v) => grads[v.name]!);
    if (sums === null) {
      sums = ordered;
    } else {
      const previous: tf.Tensor[] = sums;
      sums = previous.map((s, i) => tf.add(s, ordered[i]!));
      tf.dispose([...previous, ...ordered]);
    }
  }
  if (sums === null) throw new Error('no micro-batches');
  const scale = 1 / microBatches.length;
  const named: tf.NamedTensorMap = {};
  variables.forEach((v, i) => {
    named[v.name] = tf.mul(sums![i]!, scale);
  });
  optimizer.applyGradients(named);
  tf.dispose([...sums, ...Object.values(named)]);
  return total / microBatches.length;
}
