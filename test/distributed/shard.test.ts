import { describe, expect, it } from 'vitest';
import { batchShare, globalBatchSize } from '../../src/distributed/shard.js';

describe('batch shares of data-parallel workers', () => {
  it('covers the batch once, in order, with the micro-batches one process would make', () => {
    for (const [n, workers, accumulation] of [
      [8, 2, 1],
      [7, 2, 2],
      [5, 4, 1],
      [3, 4, 1],
      [10, 3, 2],
      [1, 2, 3],
    ] as const) {
      const shares = Array.from({ length: workers }, (_, k) => batchShare(n, workers, accumulation, k));
      const total = Math.min(workers * accumulation, n);
      expect(shares.map((s) => s.totalParts)).toEqual(shares.map(() => total));
      expect(shares.reduce((sum, s) => sum + s.parts, 0)).toBe(total);
      let at = 0;
      let partsSeen = 0;
      for (const s of shares) {
        expect(s.start).toBe(at);
        at = s.end;
        partsSeen += s.parts;
        expect(s.partsAfter).toBe(total - partsSeen);
      }
      expect(at).toBe(n);
    }
  });

  it('gives the sizes of the near-equal split, larger parts first', () => {
    // 7 clips in 4 parts: 2, 2, 2, 1; two workers of two parts each
    expect(batchShare(7, 2, 2, 0)).toEqual({ batchClips: 7, totalParts: 4, parts: 2, partsAfter: 2, start: 0, end: 4 });
    expect(batchShare(7, 2, 2, 1)).toEqual({ batchClips: 7, totalParts: 4, parts: 2, partsAfter: 0, start: 4, end: 7 });
    // 3 clips, 4 workers: the last has nothing
    expect(batchShare(3, 4, 1, 3)).toEqual({ batchClips: 3, totalParts: 3, parts: 0, partsAfter: 0, start: 3, end: 3 });
  });

  it('sizes the last batch of an epoch', () => {
    expect([0, 1, 2, 3].map((b) => globalBatchSize(10, 4, b))).toEqual([4, 4, 2, 0]);
  });
});
