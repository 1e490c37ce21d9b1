import * as tf from '@tensorflow/tfjs-core';
import type { GraphStep } from '../engine/graph/graph-step.js';
import type { ClipModel } from '../models/model.js';
import { graphInputsOf, nonFiniteParts, updateFromMicroBatches, type GradientApplier, type LossFunction } from '../train/step.js';

/** One cell of a pack as its step sees it: its own model, optimizer and loss. */
export interface PackedStepCell {
  model: ClipModel;
  optimizer: GradientApplier;
  loss: LossFunction;
}

/** What one cell's part of a packed step gave: its loss, or what went non-finite (its variables must not be saved). */
export type PackedStepOutcome = { loss: number } | { nonFinite: string };

/**
 * One optimisation step of several cells in lockstep: each cell's step (forward, loss, backward,
 * update, exactly as accumulatedTrainStep makes it for a cell alone) side by side in one
 * TensorFlow graph, called once, with one read of every cell's loss and checks. The cells share
 * no tensor, so a cell's numbers are those it would have alone; TensorFlow runs the cells'
 * independent ops side by side on its inter-op threads, and the per-step costs (the call, the
 * read, JavaScript) are paid once for the pack.
 *
 * `batches[k]` holds cell k's micro-batches. Without a GraphStep, or when some loss cannot run
 * in a graph, the cells' ops run eagerly one after another (same numbers, no saving).
 */
export function packedTrainStep(
  cells: readonly PackedStepCell[],
  batches: readonly { clips: tf.Tensor5D; labels: tf.Tensor1D }[][],
  graph?: GraphStep,
): PackedStepOutcome[] {
  if (cells.length !== batches.length) throw new Error(`packedTrainStep: ${cells.length} cells, ${batches.length} batch lists`);
  if (batches.some((b) => b.length === 0)) throw new Error('packedTrainStep: a cell has no micro-batches');
  const body = (): tf.Tensor[] => {
    const parts = cells.map((c, k) => updateFromMicroBatches(c.model, c.optimizer, c.loss, batches[k]!));
    const joined = tf.concat(parts);
    tf.dispose(parts);
    return [joined];
  };
  const reads = cells.map((c) => [graphInputsOf(c.optimizer), graphInputsOf(c.loss)] as const);
  const asGraph = graph !== undefined && reads.every(([o, l]) => o !== null && l !== null);
  const inputs = asGraph
    ? cells.flatMap((c, k) => [
        ...c.model.parameters.list().map((p) => p.variable),
        ...reads[k]![0]!,
        ...reads[k]![1]!,
        ...batches[k]!.flatMap((m) => [m.clips, m.labels]),
      ])
    : [];
  const [joined] = asGraph ? graph.run(inputs, body) : body();
  const values = joined!.dataSync();
  joined!.dispose();
  const outcomes: PackedStepOutcome[] = [];
  let offset = 0;
  for (const { model } of cells) {
    // Each cell's part is [loss, a sum per trainable parameter, a sum per parameter] (updateFromMicroBatches).
    const length = 1 + model.parameters.trainable().length + model.parameters.list().length;
    const part = values.subarray(offset, offset + length);
    offset += length;
    const problem = nonFiniteParts(model, part);
    outcomes.push(problem === null ? { loss: part[0]! } : { nonFinite: problem });
  }
  return outcomes;
}
