import * as tf from '@tensorflow/tfjs';
import type { ClipLoader } from '../data/clip-loader.js';
import { inferenceContext } from '../models/context.js';
import type { ClipModel } from '../models/model.js';
import { MetricsAccumulator } from './metrics.js';

/** Runs the model in inference mode (batch-norm running statistics) over every clip of a loader. */
export async function evaluateModel(model: ClipModel, loader: ClipLoader, classNames: readonly string[]): Promise<MetricsAccumulator> {
  if (loader.options.training) throw new Error('evaluation needs a loader in evaluation mode (segment middles, no augmentation)');
  const accumulator = new MetricsAccumulator(classNames);
  for await (const batch of loader.batches(0)) {
    const scores = tf.tidy(() => model.forward(batch.clips, inferenceContext()));
    accumulator.add(scores.dataSync(), batch.labels.dataSync());
    scores.dispose();
  }
  return accumulator;
}
