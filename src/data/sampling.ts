import type { SeededRandom } from '../util/random.js';

/** Segment boundaries b = linspace(0, n - 1, segments + 1) over a clip of n frames. */
export function segmentBoundaries(frameCount: number, segments: number): number[] {
  if (!Number.isInteger(frameCount) || frameCount < 1) throw new Error(`a clip needs at least one frame, not ${frameCount}`);
  if (!Number.isInteger(segments) || segments < 1) throw new Error(`segments must be a positive integer, not ${segments}`);
  return Array.from({ length: segments + 1 }, (_, i) => (segments === 0 ? 0 : ((frameCount - 1) * i) / segments));
}

/**
 * Training: one random frame in each segment [floor(b_i), floor(b_i+1)), or floor(b_i) when
 * that range is empty (a clip shorter than the number of segments repeats frames). 0-based.
 */
export function trainingFrameIndices(frameCount: number, segments: number, random: SeededRandom): number[] {
  const b = segmentBoundaries(frameCount, segments);
  return Array.from({ length: segments }, (_, i) => {
    const low = Math.floor(b[i]!);
    const high = Math.floor(b[i + 1]!);
    return high > low ? random.int(low, high) : low;
  });
}

/** Evaluation: the middle of each segment, floor((b_i + b_i+1) / 2). 0-based. */
export function evaluationFrameIndices(frameCount: number, segments: number): number[] {
  const b = segmentBoundaries(frameCount, segments);
  return Array.from({ length: segments }, (_, i) => Math.floor((b[i]! + b[i + 1]!) / 2));
}
