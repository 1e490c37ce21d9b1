import * as tf from '@tensorflow/tfjs';
import type { GraphStep } from '../engine/graph/graph-step.js';
import { applyBatchNormUpdates, trainingContext } from '../models/context.js';
import type { ClipModel } from '../models/model.js';

/** A loss as the trainer calls it: integer labels and logits in, a scalar out. */
export type LossFunction = (labels: tf.Tensor1D, logits: tf.Tensor2D) => tf.Scalar;

/**
 * Tensors made before a step that the step reads (an optimizer's buffers, a loss's class
 * weights), so a GraphStep can feed them instead of baking them in; null when the part
 * cannot run inside a graph at all.
 */
export interface GraphInputs {
  graphInputs(): tf.Tensor[] | null;
}

/** What applies gradients (keyed by tfjs variable name): egtea's Sgd or any tf.Optimizer. */
export interface GradientApplier {
  applyGradients(grads: tf.NamedTensorMap): void;
}

function graphInputsOf(part: object): tf.Tensor[] | null {
  const source = part as Partial<GraphInputs>;
  return typeof source.graphInputs === 'function' ? source.graphInputs() : null;
}

/**
 * One optimisation step: forward, loss, backward, update, then the batch-norm statistics.
 * Returns the loss value. Everything it makes is freed before it returns.
 */
export function trainStep(model: ClipModel, optimizer: GradientApplier, loss: LossFunction, clips: tf.Tensor5D, labels: tf.Tensor1D, graph?: GraphStep): number {
  return accumulatedTrainStep(model, optimizer, loss, [{ clips, labels }], graph);
}

/**
 * Gradient accumulation: the gradients of several micro-batches, averaged, then one update,
 * so one device reaches the effective batch of several.
 *
 * With a GraphStep, the whole step (every micro-batch and the update) runs as one TensorFlow
 * graph once it has been recorded, when the optimizer and the loss name the tensors they read.
 */
export function accumulatedTrainStep(
  model: ClipModel,
  optimizer: GradientApplier,
  loss: LossFunction,
  microBatches: { clips: tf.Tensor5D; labels: tf.Tensor1D }[],
  graph?: GraphStep,
): number {
  if (microBatches.length === 0) throw new Error('no micro-batches');
  const body = (): tf.Tensor[] => [updateFromMicroBatches(model, optimizer, loss, microBatches)];
  const optimizerInputs = graphInputsOf(optimizer);
  const lossInputs = graphInputsOf(loss);
  const [meanLoss] =
    graph && optimizerInputs && lossInputs
      ? graph.run([...model.parameters.list().map((p) => p.variable), ...optimizerInputs, ...lossInputs, ...microBatches.flatMap((m) => [m.clips, m.labels])], body)
      : body();
  // Read after the update, so nothing inside the step waits on JavaScript.
  const value = meanLoss!.dataSync()[0]!;
  meanLoss!.dispose();
  return value;
}

/** Applies the averaged gradients and returns the mean loss over the micro-batches. */
function updateFromMicroBatches(model: ClipModel, optimizer: GradientApplier, loss: LossFunction, microBatches: { clips: tf.Tensor5D; labels: tf.Tensor1D }[]): tf.Scalar {
  const variables = model.parameters.trainableVariables();
  let sums: tf.Tensor[] | null = null;
  let total: tf.Scalar | null = null;
  for (const { clips, labels } of microBatches) {
    const context = trainingContext();
    const { value, grads } = tf.variableGrads(() => loss(labels, model.forward(clips, context)), variables);
    applyBatchNormUpdates(context);
    if (total === null) {
      total = value;
    } else {
      const previous: tf.Scalar = total;
      total = tf.add(previous, value);
      tf.dispose([previous, value]);
    }
    const ordered = variables.map((v) => grads[v.name]!);
    if (sums === null) {
      sums = ordered;
    } else {
      const previous: tf.Tensor[] = sums;
      sums = previous.map((s, i) => tf.add(s, ordered[i]!));
      tf.dispose([...previous, ...ordered]);
    }
  }
  const named: tf.NamedTensorMap = {};
  const scale = 1 / microBatches.length;
  variables.forEach((v, i) => {
    named[v.name] = scale === 1 ? sums![i]! : tf.mul(sums![i]!, scale);
  });
  optimizer.applyGradients(named);
  tf.dispose(scale === 1 ? sums! : [...sums!, ...Object.values(named)]);
  if (scale === 1) return total!;
  const mean = tf.mul(total!, scale) as tf.Scalar;
  total!.dispose();
  return mean;
}
