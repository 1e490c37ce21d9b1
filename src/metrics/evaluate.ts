import * as tf from '@tensorflow/tfjs';
import type { ClipLoader } from '../data/clip-loader.js';
import { inferenceContext } from '../models/context.js';
import type { ClipModel } from '../models/model.js';
import { MetricsAccumulator } from './metrics.js';

/** Told after each batch evaluated: batches done, of how many, and the batch's clips (a progress bar). */
export type EvaluationProgress = (batch: number, batches: number, clips: number) => void;

/** Runs the model in inference mode (batch-norm running statistics) over every clip of a loader. */
export async function evaluateModel(model: ClipModel, loader: ClipLoader, classNames: readonly string[], onBatch?: EvaluationProgress): Promise<MetricsAccumulator> {
  if (loader.options.training) throw new Error('evaluation needs a loader in evaluation mode (segment middles, no augmentation)');
  const accumulator = new MetricsAccumulator(classNames);
  const batches = loader.batchCount();
  let done = 0;
  for await (const batch of loader.batches(0)) {
    const scores = tf.tidy(() => model.forward(batch.clips, inferenceContext()));
    accumulator.add(scores.dataSync(), batch.labels.dataSync());
    scores.dispose();
    onBatch?.(++done, batches, batch.names.length);
  }
  return accumulator;
}
