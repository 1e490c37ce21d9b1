import type * as tf from '@tensorflow/tfjs-core';
import type { ClipRecord } from './clip-record.js';

export interface Batch {
  /** [N, T, H, W, C] float32, normalised. Valid until the next batch is requested. */
  clips: tf.Tensor5D;
  labels: tf.Tensor1D;
  names: string[];
}

/**
 * What training and evaluation take their batches from: a ClipLoader (decodes and augments every
 * epoch), or a ResidentClips (the loader's clips decoded once and held as one device tensor).
 * The records and batch size say what the batches hold; the order within an epoch is the
 * source's own, the same for both.
 */
export interface BatchSource {
  readonly records: readonly ClipRecord[];
  readonly options: { readonly batchSize: number; readonly training: boolean };
  batchCount(): number;
  /** The batches of one epoch from batch `first`; each batch's tensors are disposed when the next is requested. */
  batches(epoch: number, first?: number): AsyncGenerator<Batch>;
}
