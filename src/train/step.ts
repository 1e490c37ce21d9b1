import * as tf from '@tensorflow/tfjs-core';
import type { RunningStart, StepShare } from '../distributed/data-parallel.js';
import type { GraphStep } from '../engine/graph/graph-step.js';
import type { GraphInputs, LossFunction } from '../losses/loss-function.js';
import { applyBatchNormUpdates, trainingContext } from '../models/context.js';
import type { ClipModel } from '../models/model.js';

export type { LossFunction } from '../losses/loss-function.js';

/**
 * A step whose loss, gradients or updated values hold NaN or Inf. The model's variables are
 * already updated when it is thrown: the caller must not save them.
 */
export class NonFiniteStepError extends Error {
  constructor(
    /** What went non-finite, e.g. "the loss is NaN" or "the gradient of 'fc.weight' holds NaN or Inf". */
    readonly what: string,
  ) {
    super(`the training step went non-finite: ${what}`);
    this.name = 'NonFiniteStepError';
  }
}

/** What applies gradients (keyed by tfjs variable name): egtea's Sgd or any tf.Optimizer. */
export interface GradientApplier {
  applyGradients(grads: tf.NamedTensorMap): void;
}

export function graphInputsOf(part: object): tf.Tensor[] | null {
  const source = part as Partial<GraphInputs>;
  return typeof source.graphInputs === 'function' ? source.graphInputs() : null;
}

/**
 * One optimisation step: forward, loss, backward, update, then the batch-norm statistics.
 * Returns the loss value. Everything it makes is freed before it returns.
 */
export function trainStep(
  model: ClipModel,
  optimizer: GradientApplier,
  loss: LossFunction,
  clips: tf.Tensor5D,
  labels: tf.Tensor1D,
  graph?: GraphStep,
): number {
  return accumulatedTrainStep(model, optimizer, loss, [{ clips, labels }], graph);
}

/**
 * Gradient accumulation: the gradients of several micro-batches, averaged, then one update,
 * so one device reaches the effective batch of several.
 *
 * With a GraphStep, the whole step (every micro-batch and the update) runs as one TensorFlow
 * graph once it has been recorded, when the optimizer and the loss name the tensors they read.
 * With a StepShare (data-parallel training), the micro-batches are this worker's share and the
 * workers' gradients are all-reduced inside the step (src/distributed/data-parallel.ts).
 */
export function accumulatedTrainStep(
  model: ClipModel,
  optimizer: GradientApplier,
  loss: LossFunction,
  microBatches: { clips: tf.Tensor5D; labels: tf.Tensor1D }[],
  graph?: GraphStep,
  share?: StepShare,
): number {
  // A worker may have no clips of a short last batch: it still joins the all-reduce.
  if (microBatches.length === 0 && share === undefined) throw new Error('no micro-batches');
  const body = (): tf.Tensor[] => [updateFromMicroBatches(model, optimizer, loss, microBatches, share)];
  const optimizerInputs = graphInputsOf(optimizer);
  const lossInputs = graphInputsOf(loss);
  // A data-parallel step's graph is keyed by the global batch too: a worker's shard can keep its
  // shape while another's changes, and every worker must record (run its all-reduce twice) at
  // the same steps, or their collectives would pair up wrongly.
  const asGraph = graph !== undefined && optimizerInputs !== null && lossInputs !== null;
  const batchMarker = asGraph && share ? tf.zeros([share.share.batchClips]) : null;
  const shareInputs = share ? [share.role, ...(batchMarker ? [batchMarker] : [])] : [];
  let packed: tf.Tensor | undefined;
  try {
    [packed] = asGraph
      ? graph.run(
          [
            ...model.parameters.list().map((p) => p.variable),
            ...optimizerInputs,
            ...lossInputs,
            ...microBatches.flatMap((m) => [m.clips, m.labels]),
            ...shareInputs,
          ],
          body,
        )
      : body();
  } finally {
    tf.dispose(shareInputs);
  }
  // One read per step, after the update, so nothing inside the step waits on JavaScript.
  const values = packed!.dataSync();
  packed!.dispose();
  const problem = nonFiniteParts(model, values);
  if (problem !== null) throw new NonFiniteStepError(problem);
  return values[0]!;
}

/** Names what went non-finite from the packed [loss, gradient sums, value sums], or null. */
export function nonFiniteParts(model: ClipModel, packed: ArrayLike<number>): string | null {
  const loss = packed[0]!;
  if (!Number.isFinite(loss)) return `the loss is ${loss}`;
  const trainable = model.parameters.trainable();
  const all = model.parameters.list();
  const failed = (names: string[], offset: number) => names.filter((_, i) => !Number.isFinite(packed[offset + i]!));
  const describe = (kind: string, names: string[]) =>
    `the ${kind} of '${names[0]}'${names.length > 1 ? ` (and ${names.length - 1} more)` : ''} holds NaN or Inf`;
  const gradients = failed(
    trainable.map((p) => p.name),
    1,
  );
  if (gradients.length > 0) return describe('gradient', gradients);
  const updated = failed(
    all.map((p) => p.name),
    1 + trainable.length,
  );
  if (updated.length > 0) return describe('updated value', updated);
  return null;
}

/**
 * Applies the averaged gradients; returns [mean loss over the micro-batches, the sum of each
 * gradient, the sum of each parameter after the update]. A sum is finite exactly when every
 * element is (NaN and Inf propagate; finite values overflow only far past divergence), and one
 * reduction per tensor, computed in the step, keeps the check cheap and inside a graph.
 */
export function updateFromMicroBatches(
  model: ClipModel,
  optimizer: GradientApplier,
  loss: LossFunction,
  microBatches: { clips: tf.Tensor5D; labels: tf.Tensor1D }[],
  share?: StepShare,
): tf.Tensor1D {
  const variables = model.parameters.trainableVariables();
  let sums: tf.Tensor[] | null = null;
  let total: tf.Scalar | null = null;
  const runningStarts = new Map<tf.Variable, RunningStart>();
  for (const { clips, labels } of microBatches) {
    const context = trainingContext();
    const { value, grads } = tf.variableGrads(() => loss(labels, model.forward(clips, context)), variables);
    if (share) noteRunningStarts(context.batchNormUpdates, runningStarts);
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
  if (share) {
    const running = model.parameters
      .list()
      .filter((p) => !p.trainable)
      .map((p) => p.variable);
    const combined = share.combine({ variables, gradientSums: sums, lossTotal: total, running, runningStarts });
    tf.dispose([...(sums ?? []), ...(total ? [total] : []), ...[...runningStarts.values()].map((r) => r.start)]);
    return applyAndPack(model, optimizer, variables, combined.gradients, combined.loss);
  }
  const scale = 1 / microBatches.length;
  if (scale === 1) return applyAndPack(model, optimizer, variables, sums!, total!);
  const gradients = sums!.map((s) => tf.mul(s, scale));
  const mean = tf.mul(total!, scale) as tf.Scalar;
  tf.dispose([...sums!, total!]);
  return applyAndPack(model, optimizer, variables, gradients, mean);
}

/** Remembers, at its first update in the step, where each running statistic started. */
function noteRunningStarts(updates: readonly { variable: tf.Variable; decay: number }[], starts: Map<tf.Variable, RunningStart>): void {
  for (const { variable, decay } of updates) {
    const known = starts.get(variable);
    if (known) known.updates += 1;
    else starts.set(variable, { start: tf.clone(variable), decay, updates: 1 });
  }
}

/** Applies the step's gradients (one tensor per trainable variable, in order) and packs as updateFromMicroBatches says; disposes its inputs. */
function applyAndPack(model: ClipModel, optimizer: GradientApplier, variables: tf.Variable[], gradients: tf.Tensor[], mean: tf.Scalar): tf.Tensor1D {
  const named: tf.NamedTensorMap = {};
  variables.forEach((v, i) => (named[v.name] = gradients[i]!));
  const gradientSums = gradients.map((g) => tf.sum(g));
  optimizer.applyGradients(named);
  const packed = tf.tidy(
    () => tf.concat([tf.reshape(mean, [1]), tf.stack([...gradientSums, ...model.parameters.list().map((p) => tf.sum(p.variable))])]) as tf.Tensor1D,
  );
  tf.dispose([mean, ...gradients, ...gradientSums]);
  return packed;
}
