import * as tf from '@tensorflow/tfjs';
import type { BatchSource } from './batch-source.js';
import type { Batch, ClipLoader } from './clip-loader.js';
import { segmentBoundaries } from './sampling.js';

/** Clips loaded at once while the set is built (the loader splits each call into its jobs). */
const BUILD_CHUNK = 1000;

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
  ) {}

  /** Loads every clip once (the loader's own loading, so its transforms and their arithmetic); refuses loaders residentUnfit names. */
  static async build(loader: ClipLoader): Promise<ResidentClips> {
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
    return new ResidentClips(loader, tf.tensor5d(data, [n, segments, transform.size, transform.size, 3]), tf.tensor1d(labels, 'int32'));
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
    for (let b = first; b < count; b++) {
      const indices = order.slice(b * batchSize, (b + 1) * batchSize);
      const batch = tf.tidy(() => {
        const at = tf.tensor1d(indices, 'int32');
        return { clips: tf.gather(this.clips, at) as tf.Tensor5D, labels: tf.gather(this.labels, at) as tf.Tensor1D };
      });
      try {
        yield { ...batch, names: indices.map((r) => this.loader.records[r]!.clip) };
      } finally {
        tf.dispose([batch.clips, batch.labels]);
      }
    }
  }

  dispose(): void {
    tf.dispose([this.clips, this.labels]);
  }
}
