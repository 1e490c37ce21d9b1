import { describe, expect, it } from 'vitest';
import { cdbWeights, dynamicTau } from '../../src/losses/cdb-weights.js';

describe('dynamic tau', () => {
  it('follows the paper: tau = 2 / (1 + exp(-b)), b = max A / (min A + 1e-4) - 1', () => {
    // b = 0.9 / 0.3001 - 1 = 1.99900, tau = 2 / (1 + e^-1.999) = 1.76138
    expect(dynamicTau([0.9, 0.7, 0.5, 0.3, 0.6], 'paper')).toBeCloseTo(1.76138, 5);
  });

  it("follows the authors' code when asked: sigmoid(max A / (min A + 0.01))", () => {
    // 0.9 / 0.31 = 2.90323, sigmoid = 0.94801
    expect(dynamicTau([0.9, 0.7, 0.5, 0.3, 0.6], 'official')).toBeCloseTo(0.94801, 5);
  });

  it('stays finite and near 2 when a class has zero accuracy', () => {
    const tau = dynamicTau([0.9, 0]);
    expect(Number.isFinite(tau)).toBe(true);
    expect(tau).toBeCloseTo(2, 6);
  });

  it('is 2 / (1 + e^0) = 1 when every class is equally accurate', () => {
    expect(dynamicTau([0.5, 0.5, 0.5])).toBeCloseTo(1, 3);
  });
});

describe('CDB weights', () => {
  const accuracy = [0.95, 0.5, 0.2, 0, 1];

  it('is d^tau as written when not normalised', () => {
    const { difficulty, weights, tau } = cdbWeights(accuracy, { tau: 2, normalize: 'none' });
    expect(tau).toBe(2);
    expect(difficulty.map((d) => +d.toFixed(10))).toEqual([0.05, 0.5, 0.8, 1, 0]);
    [0.0025, 0.25, 0.64, 1, 0].forEach((w, c) => expect(weights[c]).toBeCloseTo(w, 10));
  });

  it('scales to sum to the number of classes by default, as the authors do', () => {
    const { weights } = cdbWeights(accuracy, { tau: 2 });
    // 1.8925 in all: each of 0.0025, 0.25, 0.64, 1, 0 times 5 / 1.8925
    [0.0066050198, 0.6605019815, 1.6908850727, 2.642007926, 0].forEach((w, c) => expect(weights[c]).toBeCloseTo(w, 8));
    expect(weights.reduce((a, b) => a + b)).toBeCloseTo(5, 10);
  });

  it('gives a perfect class weight 0, or the floor when minDifficulty is set', () => {
    expect(cdbWeights([1, 0.5], { tau: 2, normalize: 'none' }).weights[0]).toBe(0);
    expect(cdbWeights([1, 0.5], { tau: 2, normalize: 'none', minDifficulty: 0.1 }).weights[0]).toBeCloseTo(0.01, 12);
  });

  it('falls back to uniform weights with a warning when every class is perfect', () => {
    const result = cdbWeights([1, 1, 1], { tau: 'dynamic' });
    expect(result.weights).toEqual([1, 1, 1]);
    expect(result.warnings[0]).toMatch(/every class/);
  });

  it('with tau = 0 is plain cross-entropy: uniform weights', () => {
    expect(cdbWeights(accuracy, { tau: 0 }).weights).toEqual([1, 1, 1, 1, 1]);
  });

  it('refuses accuracies outside [0, 1], NaN and a negative tau', () => {
    expect(() => cdbWeights([0.5, 1.2], { tau: 1 })).toThrow(/class 1: accuracy 1.2/);
    expect(() => cdbWeights([Number.NaN], { tau: 1 })).toThrow(/class 0/);
    expect(() => cdbWeights([0.5], { tau: -1 })).toThrow(/tau -1/);
  });
});
