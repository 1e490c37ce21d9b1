import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource } from '../data/batch-source.js';
import { ClipLoader } from '../data/clip-loader.js';
import { MetricsAccumulator } from '../metrics/metrics.js';
import { inferenceContext } from '../models/context.js';
import type { ClipModel } from '../models/model.js';
import { INSTANCE_KEYS, type DataParallelWorker } from './data-parallel.js';
import { batchShare, globalBatchSize } from './shard.js';

/** A loader that loads only this worker's share of each batch (see shard.ts). */
export function shardedLoader(loader: ClipLoader, worker: DataParallelWorker, accumulation: number): ClipLoader {
  return new ClipLoader(loader.records, {
    ...loader.options,
    shardOf: (batch) => {
      const share = batchShare(batch.length, worker.workers, accumulation, worker.task);
      return batch.slice(share.start, share.end);
    },
  });
}

/**
 * Validation spread over the workers: each scores its share of every batch, then the scores of
 * the whole set are gathered (an all-reduce in which each worker fills its own rows, so every
 * value is summed with zeros only: exact) and every worker counts the same confusion matrix,
 * per-class accuracies and so CDB's weights from the whole validation set.
 */
export async function evaluateSharded(
  model: ClipModel,
  loader: BatchSource,
  classNames: readonly string[],
  worker: DataParallelWorker,
): Promise<MetricsAccumulator> {
  if (loader.options.training) throw new Error('evaluation needs a loader in evaluation mode');
  const { records } = loader;
  const { batchSize } = loader.options;
  const classes = classNames.length;
  const scores = new Float32Array(records.length * classes);
  let b = 0;
  for await (const batch of loader.batches(0)) {
    const share = batchShare(globalBatchSize(records.length, batchSize, b), worker.workers, 1, worker.task);
    if (batch.names.length > 0) {
      const batchScores = tf.tidy(() => model.forward(batch.clips, inferenceContext()));
      scores.set(batchScores.dataSync(), (b * batchSize + share.start) * classes);
      batchScores.dispose();
    }
    b += 1;
  }
  const local = tf.tensor1d(scores);
  const all = worker.group.sum(local, INSTANCE_KEYS.validation);
  const gathered = all.dataSync();
  tf.dispose([local, all]);
  const accumulator = new MetricsAccumulator(classNames);
  // Evaluation keeps the records' order, so row r is records[r].
  accumulator.add(
    gathered,
    Int32Array.from(records, (r) => r.label),
  );
  return accumulator;
}
