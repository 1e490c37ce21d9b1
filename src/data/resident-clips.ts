import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource } from './batch-source.js';
import type { Batch, ClipLoader } from './clip-loader.js';
import { segmentBoundaries } from './sampling.js';

/** Clips loaded at once while the set is built (the loader splits each call into its jobs). */
const BUILD_CHUNK = 1000;

/**
 * Bytes of batches gathered at once: one gather and one split serve them all. With small clips
 * an eager op per batch cost more than the copy (Fashion-MNIST, 100 clips a batch: 0.4 ms a
 * batch against 0.2), and the bound keeps video sets from holding a second copy of themselves.
 */
const GATHER_BYTES = 64 * 2 ** 20;

/**
 * Why a loader's clips cannot be held once for the whole run, or null when they can: every
 * epoch must load each clip exactly alike. Evaluation always does (segment middles, centre
 * crop). Training does when nothing it draws changes the pixels: no rotation, no flip, a crop
 * that always covers the whole (square) frame, and at most one frame to choose from in each
 * segment. A data-parallel share (shardOf) is left to the loader.
 */
export function residentUnfit(loader: ClipLoader): string | null {
  const { training, transform, segments, shardOf } = loader.options;
  if (shardOf) return "a data-parallel worker's share of each batch";
  if (!training) return null;
  if (transform.rotation > 0) return `rotation of up to ${transform.rotation} degrees`;
  if (transform.flipProbability > 0) return `flips with probability ${transform.flipProbability}`;
  for (const record of loader.records) {
    const { width, height } = record;
    if (width === undefined || height === undefined) return `frame size of clip ${record.clip} unknown`;
    if (width !== height || Math.round(width * transform.cropScale[0]) < width)
      return `random crops (clip ${record.clip}: ${width}x${height}, crop scale ${transform.cropScale.join('-')})`;
    const b = segmentBoundaries(record.frameCount, segments);
    for (let i = 0; i < segments; i++) {
      if (Math.floor(b[i + 1]!) - Math.floor(b[i]!) > 1)
        return `random frames within segments (clip ${record.clip}: ${record.frameCount} frames, ${segments} segments)`;
    }
  }
  return null;
}

/** Bytes of a loader's clips as float32 [N, T, size, size, 3]. */
export function residentBytes(loader: ClipLoader): number {
  const { segments, transform } = loader.options;
  return loader.records.length * segments * transform.size * transform.size * 3 * 4;
}

/**
 * A loader's clips decoded, transformed and normalised once, then held as one tensor on the
 * device; each epoch's batches are gathered from it in the loader's own seeded order. Only for
 * loaders whose every epoch loads each clip alike (residentUnfit), so the batches are the
 * loader's, value for value: the source of the batches changes, nothing else.
 */
export class ResidentClips implements BatchSource {
  private constructor(
    private readonly loader: ClipLoader,
    private readonly clips: tf.Tensor5D,
    private readonly labels: tf.Tensor1D,
    private readonly gatherBytes: number,
  ) {}

  /** Loads every clip once (the loader's own loading, so its transforms and their arithmetic); refuses loaders residentUnfit names. */
  static async build(loader: ClipLoader, gatherBytes = GATHER_BYTES): Promise<ResidentClips> {
    const unfit = residentUnfit(loader);
    if (unfit !== null) throw new Error(`the clips cannot be held once for the run: ${unfit}`);
    const { segments, transform, training } = loader.options;
    const n = loader.records.length;
    const clipValues = segments * transform.size * transform.size * 3;
    const data = new Float32Array(n * clipValues);
    const labels = new Int32Array(n);
    // Any epoch loads alike; the one the loader itself would load first.
    const epoch = training ? 1 : 0;
    for (let first = 0; first < n; first += BUILD_CHUNK) {
      const indices = Array.from({ length: Math.min(BUILD_CHUNK, n - first) }, (_, i) => first + i);
      const loaded = await loader.loadRecords(indices, epoch);
      data.set(loaded.data, first * clipValues);
      labels.set(loaded.labels, first);
    }
    return new ResidentClips(loader, tf.tensor5d(data, [n, segments, transform.size, transform.size, 3]), tf.tensor1d(labels, 'int32'), gatherBytes);
  }

  get records() {
    return this.loader.records;
  }

  get options() {
    return this.loader.options;
  }

  /** Bytes the clips take on the device. */
  get bytes(): number {
    return this.clips.size * 4;
  }

  batchCount(): number {
    return this.loader.batchCount();
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- an AsyncGenerator, as the loader's
  async *batches(epoch: number, first = 0): AsyncGenerator<Batch> {
    const order = this.loader.order(epoch);
    const { batchSize } = this.loader.options;
    const count = this.batchCount();
    const batchBytes = (this.clips.size / this.clips.shape[0]) * 4 * batchSize;
    const perGather = Math.max(1, Math.floor(this.gatherBytes / batchBytes));
    for (let start = first; start < count; start += perGather) {
      const end = Math.min(count, start + perGather);
      const indices = order.slice(start * batchSize, end * batchSize);
      const sizes = Array.from({ length: end - start }, (_, i) => Math.min(batchSize, indices.length - i * batchSize));
      const parts = tf.tidy(() => {
        const at = tf.tensor1d(indices, 'int32');
        return {
          clips: tf.split(tf.gather(this.clips, at), sizes) as tf.Tensor5D[],
          labels: tf.split(tf.gather(this.labels, at), sizes) as tf.Tensor1D[],
        };
      });
      try {
        for (let i = 0; i < sizes.length; i++) {
          const names = indices.slice(i * batchSize, i * batchSize + sizes[i]!).map((r) => this.loader.records[r]!.clip);
          yield { clips: parts.clips[i]!, labels: parts.labels[i]!, names };
          tf.dispose([parts.clips[i]!, parts.labels[i]!]);
        }
      } finally {
        // The batches not taken, when the consumer stops early.
        tf.dispose([...parts.clips, ...parts.labels]);
      }
    }
  }

  dispose(): void {
    tf.dispose([this.clips, this.labels]);
  }
}
