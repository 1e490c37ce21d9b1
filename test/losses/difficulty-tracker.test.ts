import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DifficultyTracker } from '../../src/losses/difficulty-tracker.js';

describe('DifficultyTracker', () => {
  it('starts uniform and follows each validation', () => {
    const tracker = new DifficultyTracker(3, { tau: 2, normalize: 'none' });
    expect(tracker.weights()).toEqual([1, 1, 1]);
    const update = tracker.update([0.5, 0.9, 0], 1);
    expect(update.weights[0]).toBeCloseTo(0.25, 12);
    expect(update.weights[1]).toBeCloseTo(0.01, 12);
    expect(update.weights[2]).toBe(1);
    expect(Array.from(tracker.weightsTensor().dataSync())).toEqual(update.weights.map(Math.fround));
    tracker.dispose();
  });

  it('keeps the previous weight of a class absent from validation, and says so', () => {
    const tracker = new DifficultyTracker(3, { tau: 1, normalize: 'none' });
    tracker.update([0.5, 0.8, 0.2], 1);
    const update = tracker.update([0.1, null, 0.6], 2);
    expect(update.absent).toEqual([1]);
    expect(update.warnings.join()).toMatch(/no validation samples keep their previous weight: 1/);
    expect(update.weights[1]).toBeCloseTo(0.2, 12);
    expect(update.weights[0]).toBeCloseTo(0.9, 12);
    tracker.dispose();
  });

  it('normalises over every class, an absent one with the raw weight it kept', () => {
    const tracker = new DifficultyTracker(3, { tau: 1 });
    // Raw d^1 = [0.5, 0.2, 0.8], sum 1.5, scaled to sum to 3 classes.
    const first = tracker.update([0.5, 0.8, 0.2], 1).weights;
    [1, 0.4, 1.6].forEach((w, c) => expect(first[c]).toBeCloseTo(w, 12));
    // Raw [0.9, 0.2 (kept), 0.4], sum 1.5 again: the absent class keeps its share, not its old normalised weight.
    const second = tracker.update([0.1, null, 0.6], 2).weights;
    [1.8, 0.4, 0.8].forEach((w, c) => expect(second[c]).toBeCloseTo(w, 12));
    expect(second.reduce((a, b) => a + b, 0)).toBeCloseTo(3, 12);
    tracker.dispose();
  });

  it('dynamic tau is computed over the classes that were validated', () => {
    const tracker = new DifficultyTracker(3, { tau: 'dynamic' });
    const update = tracker.update([0.9, null, 0.3], 1);
    expect(update.tau).toBeCloseTo(2 / (1 + Math.exp(-(0.9 / 0.3001 - 1))), 10);
    tracker.dispose();
  });

  it('falls back to uniform when every class is perfect, never NaN', () => {
    const tracker = new DifficultyTracker(2, { tau: 'dynamic' });
    const update = tracker.update([1, 1], 1);
    expect(update.weights).toEqual([1, 1]);
    expect(update.warnings.join()).toMatch(/every class/);
    tracker.dispose();
  });

  it('replaces its weight tensor without leaking', () => {
    const tracker = new DifficultyTracker(4, { tau: 'dynamic' });
    const before = tf.memory().numTensors;
    for (let epoch = 1; epoch <= 20; epoch++) tracker.update([0.1, 0.4, 0.7, epoch / 20], epoch);
    expect(tf.memory().numTensors).toBe(before);
    tracker.dispose();
    expect(tf.memory().numTensors).toBe(before - 1);
  });

  describe('smoothing (beyond the paper)', () => {
    it('averages each class accuracy over epochs, so swapped roles do not swap the weights', () => {
      const paper = new DifficultyTracker(2, { tau: 1, normalize: 'none' });
      const smooth = new DifficultyTracker(2, { tau: 1, normalize: 'none', smoothing: 0.5 });
      for (const t of [paper, smooth]) t.update([0.2, 1], 1);
      expect(smooth.weights()[0]).toBeCloseTo(0.8, 12);
      expect(smooth.weights()[1]).toBe(0);
      paper.update([1, 0.2], 2);
      const update = smooth.update([1, 0.2], 2);
      // The paper's rule swaps to [0, 0.8]; the average is 0.6 for both classes.
      expect(paper.weights()[0]).toBe(0);
      expect(paper.weights()[1]).toBeCloseTo(0.8, 12);
      expect(update.smoothedAccuracy[0]).toBeCloseTo(0.6, 12);
      expect(update.smoothedAccuracy[1]).toBeCloseTo(0.6, 12);
      expect(update.weights[0]).toBeCloseTo(0.4, 12);
      expect(update.weights[1]).toBeCloseTo(0.4, 12);
      const third = smooth.update([0.5, 0.8], 3);
      expect(third.smoothedAccuracy[0]).toBeCloseTo(0.55, 12);
      expect(third.smoothedAccuracy[1]).toBeCloseTo(0.7, 12);
      expect(third.weights[0]).toBeCloseTo(0.45, 12);
      expect(third.weights[1]).toBeCloseTo(0.3, 12);
      paper.dispose();
      smooth.dispose();
    });

    it('takes dynamic tau and the difficulty floor from the smoothed accuracies, and normalises after', () => {
      const tracker = new DifficultyTracker(2, { tau: 'dynamic', smoothing: 0.75, minDifficulty: 0.1 });
      tracker.update([1, 0.6], 1);
      const update = tracker.update([0.6, 1], 2);
      // smoothed: 0.75 * 1 + 0.25 * 0.6 = 0.9 and 0.75 * 0.6 + 0.25 * 1 = 0.7
      const tau = 2 / (1 + Math.exp(-(0.9 / 0.7001 - 1)));
      expect(update.tau).toBeCloseTo(tau, 12);
      expect(update.difficulty[0]).toBeCloseTo(0.1, 12);
      expect(update.difficulty[1]).toBeCloseTo(0.3, 12);
      const raw = [0.1 ** tau, 0.3 ** tau];
      expect(update.weights[0]).toBeCloseTo((2 * raw[0]!) / (raw[0]! + raw[1]!), 12);
      expect(update.weights[1]).toBeCloseTo((2 * raw[1]!) / (raw[0]! + raw[1]!), 12);
      tracker.dispose();
    });

    it('a class absent from one validation keeps its average; a restored tracker continues as the original', () => {
      const a = new DifficultyTracker(2, { tau: 1, normalize: 'none', smoothing: 0.5 });
      a.update([0.4, 0.8], 1);
      a.update([null, 0.4], 2);
      const b = new DifficultyTracker(2, { tau: 1, normalize: 'none', smoothing: 0.5 });
      const state = a.state();
      expect(state.smoothedAccuracy[0]).toBeCloseTo(0.4, 12);
      expect(state.smoothedAccuracy[1]).toBeCloseTo(0.6, 12);
      b.restore(state.weights, state.rawWeights, state.smoothedAccuracy);
      const fromA = a.update([0.8, 0.2], 3);
      const fromB = b.update([0.8, 0.2], 3);
      expect(fromB.weights).toEqual(fromA.weights);
      expect(fromA.weights[0]).toBeCloseTo(0.4, 12);
      expect(fromA.weights[1]).toBeCloseTo(0.6, 12);
      a.dispose();
      b.dispose();
    });

    it('refuses a smoothing outside [0, 1)', () => {
      expect(() => new DifficultyTracker(2, { tau: 1, smoothing: 1 })).toThrow('smoothing 1 must lie in [0, 1)');
      expect(() => new DifficultyTracker(2, { tau: 1, smoothing: -0.1 })).toThrow('smoothing -0.1 must lie in [0, 1)');
    });
  });
});
