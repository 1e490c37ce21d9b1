import * as tf from '@tensorflow/tfjs-core';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { UserError } from '../util/errors.js';
import { SeededRandom } from '../util/random.js';
import type { Batch, BatchSource } from './batch-source.js';
import type { ClipRecord } from './clip-record.js';

export type { Batch } from './batch-source.js';
export type { ClipRecord } from './clip-record.js';
import { FrameCache } from './frame-cache.js';
import { frameFile } from './frame-layout.js';
import { classSampledOrder, evaluationFrameIndices, trainingFrameIndices } from './sampling.js';
import { centreAugmentation, drawAugmentation, loadClipsInto, type ClipLoad, type TransformConfig } from './transforms.js';

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
  /**
   * Training: draw each epoch's clips by class, class c with probability proportional to n_c^q
   * (q = 0 class-balanced, 1/2 square-root, 1 instance-balanced), with replacement. Left out:
   * every clip once per epoch, shuffled.
   */
  classSampling?: number;
  /** The part of a batch (its positions in the epoch's order) this process loads: a data-parallel worker's share (src/distributed/). Default: all. */
  shardOf?: (batch: readonly number[]) => number[];
}

// Kept for callers that import it from here (test/e2e/data/images.test.ts); frame-layout.ts owns it.
export { frameFile } from './frame-layout.js';

/** prepare redoes a clip whose folder is gone, so that is the way to repair a damaged one. */
function damagedClip(record: ClipRecord, error: unknown): UserError {
  return new UserError(`${(error as Error).message} (clip ${record.clip}); delete ${record.frameDir} and run egtea prepare again to extract it anew`, {
    cause: error,
  });
}

/**
 * Turns clip records into batches of augmented, normalised clips. Every random choice (the
 * order, each clip's frames and augmentation) is drawn from generators keyed by the seed, the
 * epoch and the clip's name, so the batches are the same whatever the concurrency.
 */
export class ClipLoader implements BatchSource {
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

  /** The clips of an epoch (indices into records): shuffled or drawn by class for training, as given for evaluation. */
  order(epoch: number): number[] {
    const order = this.records.map((_, i) => i);
    if (!this.options.training) return order;
    const { classSampling } = this.options;
    if (classSampling !== undefined) {
      return classSampledOrder(
        this.records.map((r) => r.label),
        classSampling,
        new SeededRandom(this.options.seed).fork(`epoch/${epoch}/class-sampling`),
      );
    }
    return new SeededRandom(this.options.seed).fork(`epoch/${epoch}/order`).shuffle(order);
  }

  /** Loads one clip as float32 [T, size, size, 3] into `out` at `offset`. */
  async loadClip(record: ClipRecord, epoch: number, out: Float32Array, offset: number): Promise<void> {
    await this.loadClips([record], epoch, out, [offset]);
  }

  /** Where a clip's frames are, and how they are augmented this epoch. */
  private async planClip(record: ClipRecord, epoch: number, offset: number, draw = 0): Promise<ClipLoad> {
    const { segments, training, transform } = this.options;
    // A clip drawn again in the same epoch (class sampling) gets augmentation of its own.
    const random = new SeededRandom(this.options.seed).fork(`epoch/${epoch}/clip/${record.clip}${draw > 0 ? `/draw/${draw}` : ''}`);
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
  private async loadClips(
    records: readonly ClipRecord[],
    epoch: number,
    out: Float32Array,
    offsets: readonly number[],
    draws: readonly number[] = [],
  ): Promise<void> {
    const plans = await Promise.all(
      records.map((record, i) =>
        this.planClip(record, epoch, offsets[i]!, draws[i] ?? 0).catch((error: unknown) => Promise.reject(damagedClip(record, error))),
      ),
    );
    try {
      await loadClipsInto(plans, this.options.transform, out, this.cache);
    } catch (error) {
      // The message names the file (loadClipsInto's promise); the clip that holds it is the one to mend.
      const at = plans.findIndex((plan) => plan.files.some((file) => (error as Error).message.includes(file)));
      throw at === -1 ? error : damagedClip(records[at]!, error);
    }
  }

  /**
   * Loads the clips `indices` (into `records`) as the batches of `epoch` hold them: float32
   * [N, T, size, size, 3], labels and names; `draws[i]` counts earlier draws of the same clip this epoch.
   */
  async loadRecords(
    indices: readonly number[],
    epoch: number,
    draws: readonly number[] = [],
  ): Promise<{ data: Float32Array; labels: Int32Array; names: string[] }> {
    const { segments, transform, concurrency } = this.options;
    const clipValues = segments * transform.size * transform.size * 3;
    const data = new Float32Array(indices.length * clipValues);
    const perJob = Math.ceil(indices.length / concurrency);
    const jobs: Promise<void>[] = [];
    for (let first = 0; first < indices.length; first += perJob) {
      const chunk = indices.slice(first, first + perJob);
      const chunkDraws = draws.slice(first, first + perJob);
      jobs.push(
        this.limit(() =>
          this.loadClips(
            chunk.map((r) => this.records[r]!),
            epoch,
            data,
            chunk.map((_, i) => (first + i) * clipValues),
            chunkDraws,
          ),
        ),
      );
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
    const draws = drawCounts(order);
    const { batchSize, segments, transform, prefetch } = this.options;
    const count = this.batchCount();
    const pending: Promise<{ data: Float32Array; labels: Int32Array; names: string[] }>[] = [];
    const schedule = (b: number) => {
      const positions = Array.from({ length: Math.max(0, Math.min(order.length, (b + 1) * batchSize) - b * batchSize) }, (_, i) => b * batchSize + i);
      const mine = this.options.shardOf ? this.options.shardOf(positions) : positions;
      if (b < count)
        pending.push(
          this.loadRecords(
            mine.map((at) => order[at]!),
            epoch,
            mine.map((at) => draws[at]!),
          ),
        );
    };
    for (let b = first; b <= first + prefetch; b++) schedule(b);
    try {
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
    } finally {
      // Batches loaded ahead that nobody will take (a failed batch, or the consumer stopped): their
      // failures are not news, and unhandled they would end a process that goes on (a pack's other runs).
      for (const job of pending) job.catch(() => {});
    }
  }
}

/** For each position of an epoch's order, how often its clip was drawn before (0 for a first draw). */
function drawCounts(order: readonly number[]): number[] {
  const seen = new Map<number, number>();
  return order.map((r) => {
    const count = seen.get(r) ?? 0;
    seen.set(r, count + 1);
    return count;
  });
}
