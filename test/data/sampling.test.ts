import { describe, expect, it } from 'vitest';
import { classSampledOrder, evaluationFrameIndices, segmentBoundaries, trainingFrameIndices } from '../../src/data/sampling.js';
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

describe('class sampling: class c drawn with probability proportional to n_c^q', () => {
  // Classes of 900, 90 and 10 samples (a class 3 with none).
  const labels = [...Array<number>(900).fill(0), ...Array<number>(90).fill(1), ...Array<number>(10).fill(2)];
  const shares = (q: number, epochs: number) => {
    const drawn = [0, 0, 0, 0];
    for (let e = 0; e < epochs; e++) for (const i of classSampledOrder(labels, q, new SeededRandom(`t/${e}`))) drawn[labels[i]!]! += 1;
    const total = drawn.reduce((a, b) => a + b, 0);
    return drawn.map((n) => n / total);
  };

  it('q = 0 class-balanced, q = 1/2 square-root, q = 1 instance-balanced (40 epochs of 1000 draws)', () => {
    // A share p over 40000 draws has deviation sqrt(p (1 - p) / 40000) <= 0.0025; 0.01 is four of them.
    const expected = (q: number) => [900, 90, 10].map((n) => n ** q / (900 ** q + 90 ** q + 10 ** q));
    for (const q of [0, 0.5, 1]) {
      const got = shares(q, 40);
      expected(q).forEach((p, c) => expect(Math.abs(got[c]! - p), `q ${q}, class ${c}`).toBeLessThan(0.01));
      expect(got[3]).toBe(0);
    }
  });

  it('draws as many as there are samples, each within its class uniformly, the same for the same generator', () => {
    const order = classSampledOrder(labels, 0, new SeededRandom(5));
    expect(order).toHaveLength(labels.length);
    expect(order).toEqual(classSampledOrder(labels, 0, new SeededRandom(5)));
    // Class 2's ten samples, drawn ~333 times, each ~33 times.
    const rare = order.filter((i) => labels[i] === 2);
    expect(new Set(rare).size).toBe(10);
    expect(() => classSampledOrder(labels, -1, new SeededRandom(1))).toThrow('class sampling q -1 must be a number >= 0');
  });
});
