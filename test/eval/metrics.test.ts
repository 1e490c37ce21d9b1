import { describe, expect, it } from 'vitest';
import { MetricsAccumulator } from '../../src/metrics/metrics.js';

describe('MetricsAccumulator', () => {
  // Three classes; rows are scores. True labels 0,0,0,1,2 and predictions 0,0,1,1,1.
  const scores = [
    [0.9, 0.1, 0.0],
    [0.8, 0.2, 0.0],
    [0.3, 0.6, 0.1],
    [0.1, 0.7, 0.2],
    [0.2, 0.5, 0.3],
  ];
  const labels = [0, 0, 0, 1, 2];

  it('gives top-1, per-class recall (= accuracy) and precision, and macro means, worked by hand', () => {
    const m = new MetricsAccumulator(['a', 'b', 'c']);
    m.add(scores.flat(), labels);
    const r = m.result();
    expect(r.samples).toBe(5);
    expect(r.top1).toBeCloseTo(3 / 5, 10);
    expect(r.perClass.map((c) => c.accuracy)).toEqual([2 / 3, 1, 0]);
    // b is predicted 3 times, right once; c is never predicted.
    expect(r.perClass.map((c) => c.precision)).toEqual([1, 1 / 3, null]);
    expect(r.macroRecall).toBeCloseTo((2 / 3 + 1 + 0) / 3, 10);
    // c has samples but no predictions: precision 0 in the macro mean.
    expect(r.macroPrecision).toBeCloseTo((1 + 1 / 3 + 0) / 3, 10);
    expect(r.confusion).toEqual([
      [2, 1, 0],
      [0, 1, 0],
      [0, 1, 0],
    ]);
  });

  it("restricted to a class group, counts only that group's samples; its top-5 and precision too", () => {
    const m = new MetricsAccumulator(['a', 'b', 'c']);
    m.add(scores.flat(), labels);
    const minority = m.result([1, 2]);
    expect(minority.samples).toBe(2);
    expect(minority.top1).toBe(0.5);
    expect(minority.macroRecall).toBe(0.5);
    // Three classes: every label is in the top five.
    expect(minority.top5).toBe(1);
    // b: right once in three predictions (one from class a's sample); c: samples, never predicted.
    expect(minority.macroPrecision).toBeCloseTo((1 / 3 + 0) / 2, 10);
    const majority = m.result([0]);
    expect(majority.samples).toBe(3);
    expect(majority.macroPrecision).toBe(1);
    expect(majority.top1).toBeCloseTo(2 / 3, 10);
  });

  it('top-5 over seven classes within a group, and NaN or Inf scores never count as right', () => {
    const m = new MetricsAccumulator(['0', '1', '2', '3', '4', '5', '6']);
    m.add([0, 1, 2, 3, 4, 5, 6], [2]); // label 2 is fifth highest: top-5 hit, top-1 miss
    m.add([0, 1, 2, 3, 4, 5, 6], [1]); // sixth: miss
    m.add([Number.NaN, 0, 0, 0, 0, 0, 0], [0]); // a NaN logit: a miss both ways
    m.add([1, Number.NaN, 0, 0, 0, 0, 0], [0]); // NaN elsewhere in the row: still a miss
    m.add([Number.POSITIVE_INFINITY, 0, 0, 0, 0, 0, 0], [0]);
    const r = m.result();
    expect(r.samples).toBe(5);
    expect(r.top1).toBe(0);
    expect(r.top5).toBeCloseTo(1 / 5, 10);
    expect(r.perClass[0]).toMatchObject({ support: 3, accuracy: 0, precision: null });
    expect(m.unscoredSamples).toBe(3);
    expect(m.result([1, 2]).top5).toBe(0.5);
  });

  it('top-5 counts the label among the five highest scores; ties count against it', () => {
    const m = new MetricsAccumulator(['0', '1', '2', '3', '4', '5', '6']);
    m.add([6, 5, 4, 3, 2, 1, 0], [4]); // fifth highest: a hit
    m.add([6, 5, 4, 3, 2, 1, 0], [5]); // sixth: a miss
    m.add([1, 1, 1, 1, 1, 1, 1], [0]); // six others tie with it: a miss
    expect(m.result().top5).toBeCloseTo(1 / 3, 10);
    // Top-1 takes the first of tied maxima, as argmax does: the all-ties row counts as right.
    expect(m.result().top1).toBeCloseTo(1 / 3, 10);
  });

  it('refuses labels outside the classes and mismatched sizes', () => {
    const m = new MetricsAccumulator(['a', 'b']);
    expect(() => m.add([0, 1], [2])).toThrow(/label 2 outside \[0, 2\)/);
    expect(() => m.add([0, 1, 2], [0])).toThrow(/3 scores for 1 samples of 2 classes/);
    expect(m.result().top1).toBeNull();
  });
});
