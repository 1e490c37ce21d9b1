/**
 * How data-parallel workers split one global batch. The batch of `n` clips is cut into the
 * micro-batches one process accumulating `workers x accumulation` of them would make
 * (microBatchSizes, which trainer.ts cuts by too); worker k takes the k-th run of `accumulation`
 * consecutive micro-batches. So the union of the shards is the single-process batch, in its
 * order, and each worker's micro-batches are the single process's.
 */
export interface BatchShare {
  /** Clips of the whole batch. */
  batchClips: number;
  /** Micro-batches of the whole batch, over every worker. */
  totalParts: number;
  /** This worker's micro-batches (0 when the batch has fewer clips than micro-batches before it). */
  parts: number;
  /** Micro-batches of the whole batch that come after this worker's. */
  partsAfter: number;
  /** This worker's clips: positions [start, end) of the batch. */
  start: number;
  end: number;
}

/** The sizes of `n` clips cut into min(parts, n) near-equal micro-batches, larger first. */
export function microBatchSizes(n: number, parts: number): number[] {
  const count = Math.min(parts, n);
  return Array.from({ length: count }, (_, i) => Math.floor(n / count) + (i < n % count ? 1 : 0));
}

export function batchShare(n: number, workers: number, accumulation: number, worker: number): BatchShare {
  const sizes = microBatchSizes(n, workers * accumulation);
  const totalParts = sizes.length;
  const first = Math.min(worker * accumulation, totalParts);
  const last = Math.min(first + accumulation, totalParts);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const start = sum(sizes.slice(0, first));
  const end = start + sum(sizes.slice(first, last));
  return { batchClips: n, totalParts, parts: last - first, partsAfter: totalParts - last, start, end };
}

/** Clips in batch `b` of an epoch of `records` clips cut into batches of `batchSize` (the last may be short). */
export function globalBatchSize(records: number, batchSize: number, b: number): number {
  return Math.max(0, Math.min(batchSize, records - b * batchSize));
}
