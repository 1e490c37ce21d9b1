import { describe, expect, it } from 'vitest';
import { evaluationFrameIndices, segmentBoundaries, trainingFrameIndices } from '../../src/data/sampling.js';
import { SeededRandom } from '../../src/util/random.js';

describe('segment sampling', () => {
  it('splits n frames at linspace(0, n - 1, segments + 1)', () => {
    expect(segmentBoundaries(41, 4)).toEqual([0, 10, 20, 30, 40]);
  });

  it('takes the segment middles for evaluation', () => {
    // b = 0, 10, 20, 30, 40 -> middles 5, 15, 25, 35
    expect(evaluationFrameIndices(41, 4)).toEqual([5, 15, 25, 35]);
    // b = 0, 2.25, 4.5, 6.75, 9 -> floor of 1.125, 3.375, 5.625, 7.875
    expect(evaluationFrameIndices(10, 4)).toEqual([1, 3, 5, 7]);
  });

  it('takes one frame in each [floor(b_i), floor(b_i+1)) for training', () => {
    const random = new SeededRandom(1);
    for (let trial = 0; trial < 200; trial++) {
      const frames = trainingFrameIndices(100, 10, random);
      const b = segmentBoundaries(100, 10);
      frames.forEach((f, i) => {
        expect(f).toBeGreaterThanOrEqual(Math.floor(b[i]!));
        expect(f).toBeLessThan(Math.floor(b[i + 1]!));
      });
    }
  });

  it('repeats frames of a clip shorter than the number of segments', () => {
    const frames = trainingFrameIndices(3, 10, new SeededRandom(2));
    expect(frames).toHaveLength(10);
    expect(frames.every((f) => f >= 0 && f < 3)).toBe(true);
    expect(evaluationFrameIndices(1, 10)).toEqual(new Array(10).fill(0));
    // b_i = 0.2 i, middles 0.2 i + 0.1: 0.1 ... 0.9 -> 0, 1.1 ... 1.9 -> 1
    expect(evaluationFrameIndices(3, 10)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  });

  it('gives the same frames for the same seed, others for another', () => {
    const a = trainingFrameIndices(200, 10, new SeededRandom(7));
    expect(trainingFrameIndices(200, 10, new SeededRandom(7))).toEqual(a);
    expect(trainingFrameIndices(200, 10, new SeededRandom(8))).not.toEqual(a);
  });

  it('refuses a clip with no frames', () => {
    expect(() => segmentBoundaries(0, 10)).toThrow(/at least one frame/);
  });
});
