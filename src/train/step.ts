import * as tf from '@tensorflow/tfjs';
import { applyBatchNormUpdates, trainingContext } from '../models/context.js';
import type { ClipModel } from '../models/model.js';

/** A loss as the trainer calls it: integer labels and logits in, a scalar out. */
export type LossFunction = (labels: tf.Tensor1D, logits: tf.Tensor2D) => tf.Scalar;

/** What applies gradients (keyed by tfjs variable name): egtea's Sgd or any tf.Optimizer. */
export interface GradientApplier {
  applyGradients(grads: tf.NamedTensorMap): void;
}

/**
 * One optimisation step: forward, loss, backward, update, then the batch-norm statistics.
 * Returns the loss value. Everything it makes is freed before it returns.
 */
export function trainStep(model: ClipModel, optimizer: GradientApplier, loss: LossFunction, clips: tf.Tensor5D, labels: tf.Tensor1D): number {
  return accumulatedTrainStep(model, optimizer, loss, [{ clips, labels }]);
}

/**
 * Gradient accumulation: the gradients of several micro-batches, averaged, then one update,
 * so one device reaches the effective batch of several.
 */
export function accumulatedTrainStep(
  model: ClipModel,
  optimizer: GradientApplier,
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
  const named: tf.NamedTensorMap = {};
  const scale = 1 / microBatches.length;
  variables.forEach((v, i) => {
    named[v.name] = scale === 1 ? sums![i]! : tf.mul(sums![i]!, scale);
  });
  optimizer.applyGradients(named);
  tf.dispose(scale === 1 ? sums : [...sums, ...Object.values(named)]);
  return total / microBatches.length;
}
