import { describe, expect, it } from 'vitest';
import { classBalancedWeights, inverseFrequencyWeights, ldamMargins, normalizeToClassCount } from '../../src/losses/class-weights.js';
import { rareClassMask } from '../../src/losses/equalization.js';

/**
 * Element by element, equal up to the rounding of a few float64 operations (4 units in the last
 * place): the expected values below are exact fractions, worked out by hand.
 */
function expectValues(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => {
    const tolerance = 4 * Number.EPSILON * Math.max(Math.abs(expected[i]!), Number.MIN_VALUE);
    expect(Math.abs(a - expected[i]!), `element ${i}: ${a} instead of ${expected[i]}`).toBeLessThanOrEqual(tolerance);
  });
}

describe('count-based class weights', () => {
  it('scale to sum to the number of classes; all-zero weights become uniform', () => {
    // 1 + 3 + 4 = 8 -> times 3/8.
    expectValues(normalizeToClassCount([1, 3, 4]), [3 / 8, 9 / 8, 12 / 8]);
    expect(normalizeToClassCount([0, 0])).toEqual([1, 1]);
  });

  it('inverse frequency: 1/n_c scaled to sum to the class count', () => {
    // 1/10 and 1/90 are 9/90 and 1/90: shares 9/10 and 1/10 of 2.
    expectValues(inverseFrequencyWeights([10, 90]), [1.8, 0.2]);
    // 1/2, 1/4, 1/8 = 4/8, 2/8, 1/8: shares 4/7, 2/7, 1/7 of 3.
    expectValues(inverseFrequencyWeights([2, 4, 8]), [12 / 7, 6 / 7, 3 / 7]);
  });

  it('inverse frequency: a class with no samples gets the weight of the rarest class that has some', () => {
    // Counts 0, 4, 2 -> 1/2, 1/4, 1/2 = 2/4, 1/4, 2/4: shares 2/5, 1/5, 2/5 of 3.
    expectValues(inverseFrequencyWeights([0, 4, 2]), [6 / 5, 3 / 5, 6 / 5]);
  });

  it('class-balanced: (1 - beta) / (1 - beta^n_c), scaled to sum to the class count', () => {
    // beta 0.9, counts 1 and 2: 0.1/0.1 = 1 and 0.1/0.19 = 10/19, so shares 19/29 and 10/29 of 2.
    expectValues(classBalancedWeights([1, 2], 0.9), [38 / 29, 20 / 29]);
    // beta 0.5, counts 1, 2, 3: 0.5/0.5, 0.5/0.75, 0.5/0.875 = 1, 2/3, 4/7 = 21/21, 14/21, 12/21 -> of 3: 63/47, 42/47, 36/47.
    expectValues(classBalancedWeights([1, 2, 3], 0.5), [63 / 47, 42 / 47, 36 / 47]);
    // beta 0: every class the same, whatever its count.
    expectValues(classBalancedWeights([5, 500], 0), [1, 1]);
    // No samples counts as one: counts 0, 1, 3 -> 1, 1, 4/7 = 7/7, 7/7, 4/7 -> of 3: 7/6, 7/6, 2/3.
    expectValues(classBalancedWeights([0, 1, 3], 0.5), [7 / 6, 7 / 6, 2 / 3]);
  });

  it('class-balanced weights approach inverse frequency as beta approaches 1', () => {
    const cb = classBalancedWeights([10, 90], 0.999999);
    // (1 - beta^n) ~ n (1 - beta) to first order; the difference is of order n (1 - beta) = 1e-4.
    expect(Math.abs(cb[0]! - 1.8)).toBeLessThan(1e-4);
    expect(Math.abs(cb[0]! - 1.8)).toBeGreaterThan(1e-6);
  });

  it('LDAM margins: n^(-1/4), the rarest class at maxMargin', () => {
    // 1, 16, 81 -> 1, 1/2, 1/3 of 0.5; no samples counts as one.
    expectValues(ldamMargins([1, 16, 81, 0], 0.5), [0.5, 0.25, 0.5 / 3, 0.5]);
    expectValues(ldamMargins([16, 256], 0.3), [0.3, 0.15]);
  });

  it('EQL rare-class mask: frequency strictly below lambda', () => {
    expect(rareClassMask([990, 10], 0.05)).toEqual([0, 1]);
    // 5 of 100 is exactly lambda: not rare.
    expect(rareClassMask([95, 5], 0.05)).toEqual([0, 0]);
    expect(rareClassMask([96, 4], 0.05)).toEqual([0, 1]);
    expect(rareClassMask([0, 0], 0.05)).toEqual([0, 0]);
  });

  it('refuses negative or non-numeric counts and a beta outside [0, 1)', () => {
    expect(() => inverseFrequencyWeights([3, -1])).toThrow('class 1: count -1 is not a non-negative number');
    expect(() => ldamMargins([Number.NaN], 0.5)).toThrow('class 0: count NaN is not a non-negative number');
    expect(() => classBalancedWeights([3, 1], 1)).toThrow('beta 1 must lie in [0, 1)');
  });
});
