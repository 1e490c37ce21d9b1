/**
 * How data-parallel workers split one global batch. The batch of `n` clips is cut into the
 * micro-batches one process accumulating `workers x accumulation` of them would make (near-equal,
 * larger first, as microBatches in trainer.ts cuts them); worker k takes the k-th run of
 * `accumulation` consecutive micro-batches. So the union of the shards is the single-process
 * batch, in its order, and each worker's micro-batches are the single process's.
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

export function batchShare(n: number, workers: number, accumulation: number, worker: number): BatchShare {
  const totalParts = Math.min(workers * accumulation, n);
  const size = (i: number) => Math.floor(n / totalParts) + (i < n % totalParts ? 1 : 0);
  const first = Math.min(worker * accumulation, totalParts);
  const last = Math.min(first + accumulation, totalParts);
  let start = 0;
  for (let i = 0; i < first; i++) start += size(i);
  let end = start;
  for (let i = first; i < last; i++) end += size(i);
  return { batchClips: n, totalParts, parts: last - first, partsAfter: totalParts - last, start, end };
}

/** Clips in batch `b` of an epoch of `records` clips cut into batches of `batchSize` (the last may be short). */
export function globalBatchSize(records: number, batchSize: number, b: number): number {
  return Math.max(0, Math.min(batchSize, records - b * batchSize));
}
