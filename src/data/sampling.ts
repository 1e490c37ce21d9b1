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

/**
 * One epoch of class-based sampling: as many draws as there are samples, each picking class c
 * with probability n_c^q / sum_k n_k^q (classes without samples never), then one of its samples
 * uniformly; both with replacement. q = 0 gives every class the same share (class-balanced),
 * q = 1 each sample the same chance (instance-balanced), q = 1/2 the square-root rule.
 * Returns indices into `labels`.
 */
export function classSampledOrder(labels: readonly number[], q: number, random: SeededRandom): number[] {
  if (!(Number.isFinite(q) && q >= 0)) throw new Error(`class sampling q ${q} must be a number >= 0`);
  const members = new Map<number, number[]>();
  labels.forEach((label, i) => {
    const list = members.get(label);
    if (list) list.push(i);
    else members.set(label, [i]);
  });
  const classes = [...members.keys()].sort((a, b) => a - b);
  const cumulative: number[] = [];
  let total = 0;
  for (const c of classes) {
    total += members.get(c)!.length ** q;
    cumulative.push(total);
  }
  return labels.map(() => {
    const u = random.next() * total;
    // The first class whose cumulative share exceeds u.
    let low = 0;
    let high = classes.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid]! > u) high = mid;
      else low = mid + 1;
    }
    const list = members.get(classes[low]!)!;
    return list[random.int(0, list.length)]!;
  });
}
