import * as tf from '@tensorflow/tfjs';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { UserError } from '../util/errors.js';
import { SeededRandom } from '../util/random.js';
import { FrameCache } from './frame-cache.js';
import { frameFile } from './frame-layout.js';
import { evaluationFrameIndices, trainingFrameIndices } from './sampling.js';
import { centreAugmentation, drawAugmentation, loadClipsInto, type ClipLoad, type TransformConfig } from './transforms.js';

/** A clip ready to load: a folder of frames named as frame-layout.ts says (an image is a one-frame clip). */
export interface ClipRecord {
  clip: string;
  frameDir: string;
  frameCount: number;
  label: number;
  /** Frame size, when known (prepare records it); read from the first frame otherwise. */
  width?: number;
  height?: number;
}

export interface LoaderOptions {
  batchSize: number;
  /** Frames per clip (10 by default; 1 for image datasets). */
  segments: number;
  training: boolean;
  transform: TransformConfig;
  seed: number;
  /** Loading jobs at once; a batch is split into at most this many (one job per clip cost more than decoding a small image). */
  concurrency: number;
  /** Batches prepared ahead of the one being used. */
  prefetch: number;
  /** Decoded frames kept in memory, in MiB (0: none), so small images are decoded once per run, not once per epoch. */
  cacheMiB?: number;
  dropLast?: boolean;
  /** The clips of a batch (indices into `records`) this process loads: a data-parallel worker's share (src/distributed/). Default: all. */
  shardOf?: (batch: readonly number[]) => number[];
}

export interface Batch {
  /** [N, T, H, W, C] float32, normalised. Valid until the next batch is requested. */
  clips: tf.Tensor5D;
  labels: tf.Tensor1D;
  names: string[];
}

// Kept for callers that import it from here (test/e2e/data/images.test.ts); frame-layout.ts owns it.
export { frameFile } from './frame-layout.js';

/** prepare redoes a clip whose folder is gone, so that is the way to repair a damaged one. */
function damagedClip(record: ClipRecord, error: unknown): UserError {
  return new UserError(`${(error as Error).message} (clip ${record.clip}); delete ${record.frameDir} and run egtea prepare again to extract it anew`, { cause: error });
}

/**
 * Turns clip records into batches of augmented, normalised clips. Every random choice (the
 * order, each clip's frames and augmentation) is drawn from generators keyed by the seed, the
 * epoch and the clip's name, so the batches are the same whatever the concurrency.
 */
export class ClipLoader {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly cache: FrameCache | undefined;

  constructor(
    readonly records: readonly ClipRecord[],
    readonly options: LoaderOptions,
  ) {
    if (records.length === 0) throw new Error('the loader has no clips');
    this.limit = pLimit(options.concurrency);
    this.cache = options.cacheMiB ? new FrameCache(options.cacheMiB * 2 ** 20) : undefined;
  }

  /** Frames held decoded in memory (loader.cacheMiB). */
  get cachedFrames(): number {
    return this.cache?.size ?? 0;
  }

  batchCount(): number {
    const { batchSize, dropLast } = this.options;
    return dropLast ? Math.floor(this.records.length / batchSize) : Math.ceil(this.records.length / batchSize);
  }

  /** The clip order of an epoch: shuffled for training, as given for evaluation. */
  order(epoch: number): number[] {
    const order = this.records.map((_, i) => i);
    return this.options.training ? new SeededRandom(this.options.seed).fork(`epoch/${epoch}/order`).shuffle(order) : order;
  }

  /** Loads one clip as float32 [T, size, size, 3] into `out` at `offset`. */
  async loadClip(record: ClipRecord, epoch: number, out: Float32Array, offset: number): Promise<void> {
    await this.loadClips([record], epoch, out, [offset]);
  }

  /** Where a clip's frames are, and how they are augmented this epoch. */
  private async planClip(record: ClipRecord, epoch: number, offset: number): Promise<ClipLoad> {
    const { segments, training, transform } = this.options;
    const random = new SeededRandom(this.options.seed).fork(`epoch/${epoch}/clip/${record.clip}`);
    const indices = training ? trainingFrameIndices(record.frameCount, segments, random) : evaluationFrameIndices(record.frameCount, segments);
    let { width, height } = record;
    if (width === undefined || height === undefined) {
      const meta = await sharp(frameFile(record.frameDir, 0)).metadata();
      width = meta.width!;
      height = meta.height!;
    }
    const augmentation = training ? drawAugmentation(width, height, transform, random) : centreAugmentation(width, height);
    return { files: indices.map((frame) => frameFile(record.frameDir, frame)), frameSize: { width, height }, augmentation, offset };
  }

  /** Loads clips (one job) into `out` at their offsets; a failure names the clip and how to mend it. */
  private async loadClips(records: readonly ClipRecord[], epoch: number, out: Float32Array, offsets: readonly number[]): Promise<void> {
    const plans = await Promise.all(records.map((record, i) => this.planClip(record, epoch, offsets[i]!).catch((error: unknown) => Promise.reject(damagedClip(record, error)))));
    try {
      await loadClipsInto(plans, this.options.transform, out, this.cache);
    } catch (error) {
      // The message names the file (loadClipsInto's promise); the clip that holds it is the one to mend.
      const at = plans.findIndex((plan) => plan.files.some((file) => (error as Error).message.includes(file)));
      throw at === -1 ? error : damagedClip(records[at]!, error);
    }
  }

  private async loadBatch(indices: number[], epoch: number): Promise<{ data: Float32Array; labels: Int32Array; names: string[] }> {
    const { segments, transform, concurrency } = this.options;
    const clipValues = segments * transform.size * transform.size * 3;
    const data = new Float32Array(indices.length * clipValues);
    const perJob = Math.ceil(indices.length / concurrency);
    const jobs: Promise<void>[] = [];
    for (let first = 0; first < indices.length; first += perJob) {
      const chunk = indices.slice(first, first + perJob);
      jobs.push(this.limit(() => this.loadClips(chunk.map((r) => this.records[r]!), epoch, data, chunk.map((_, i) => (first + i) * clipValues))));
    }
    await Promise.all(jobs);
    return { data, labels: Int32Array.from(indices.map((r) => this.records[r]!.label)), names: indices.map((r) => this.records[r]!.clip) };
  }

  /**
   * The batches of one epoch, from batch `first` (0-based; a run resumed inside an epoch skips
   * the batches it trained on: every draw is keyed by epoch and clip, so the rest are unchanged).
   * Each batch's tensors are disposed when the next one is requested.
   */
  async *batches(epoch: number, first = 0): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const { batchSize, segments, transform, prefetch } = this.options;
    const count = this.batchCount();
    const pending: Promise<{ data: Float32Array; labels: Int32Array; names: string[] }>[] = [];
    const schedule = (b: number) => {
      const indices = order.slice(b * batchSize, (b + 1) * batchSize);
      if (b < count) pending.push(this.loadBatch(this.options.shardOf ? this.options.shardOf(indices) : indices, epoch));
    };
    for (let b = first; b <= first + prefetch; b++) schedule(b);
    for (let b = first; b < count; b++) {
      const loaded = await pending.shift()!;
      schedule(b + prefetch + 1);
      const batch: Batch = {
        clips: tf.tensor5d(loaded.data, [loaded.labels.length, segments, transform.size, transform.size, 3]),
        labels: tf.tensor1d(loaded.labels, 'int32'),
        names: loaded.names,
      };
      try {
        yield batch;
      } finally {
        tf.dispose([batch.clips, batch.labels]);
      }
    }
  }
}
