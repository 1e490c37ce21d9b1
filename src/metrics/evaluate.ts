import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource } from '../data/batch-source.js';
import type { GraphStep } from '../engine/graph/graph-step.js';
import { inferenceContext } from '../models/context.js';
import type { ClipModel } from '../models/model.js';
import { MetricsAccumulator } from './metrics.js';

/** Told after each batch evaluated: batches done, of how many, and the batch's clips (a progress bar). */
export type EvaluationProgress = (batch: number, batches: number, clips: number) => void;

/**
 * Runs the model in inference mode (batch-norm running statistics) over every clip of a loader.
 * `offsets`, one per class, are added to every clip's logits before they are counted (post-hoc
 * logit adjustment: -t log prior). With a GraphStep, each batch's forward pass is one TensorFlow
 * call once recorded (keep the GraphStep for later evaluations of the same model: it is recorded once).
 */
export async function evaluateModel(
  model: ClipModel,
  loader: BatchSource,
  classNames: readonly string[],
  onBatch?: EvaluationProgress,
  extra: { graph?: GraphStep; offsets?: readonly number[] } = {},
): Promise<MetricsAccumulator> {
  const { graph, offsets } = extra;
  if (loader.options.training) throw new Error('evaluation needs a loader in evaluation mode (segment middles, no augmentation)');
  const accumulator = new MetricsAccumulator(classNames);
  const batches = loader.batchCount();
  let done = 0;
  for await (const batch of loader.batches(0)) {
    const forward = () => [model.forward(batch.clips, inferenceContext())];
    const scores = (graph ? graph.run([...model.parameters.list().map((p) => p.variable), batch.clips], () => tf.tidy(forward)) : tf.tidy(forward))[0]!;
    const values = scores.dataSync();
    if (offsets) for (let i = 0; i < values.length; i++) values[i]! += offsets[i % offsets.length]!;
    accumulator.add(values, batch.labels.dataSync());
    scores.dispose();
    onBatch?.(++done, batches, batch.names.length);
  }
  return accumulator;
}
