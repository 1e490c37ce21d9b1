import * as tf from '@tensorflow/tfjs';
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
});
