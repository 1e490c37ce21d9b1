import { describe, expect, it } from 'vitest';
import { classBalancedWeights, inverseFrequencyWeights, ldamMargins } from '../../src/losses/class-weights.js';
import { rareClassMask } from '../../src/losses/equalization.js';

describe('count-based class weights', () => {
  it('inverse frequency: 1/10 and 1/90 scaled to sum to 2', () => {
    const [a, b] = inverseFrequencyWeights([10, 90]);
    expect(a).toBeCloseTo(1.8, 12);
    expect(b).toBeCloseTo(0.2, 12);
  });

  it('class-balanced: (1 - beta) / (1 - beta^n), beta 0.9, counts 1 and 2', () => {
    // 0.1/0.1 = 1 and 0.1/0.19 = 0.526316, scaled to sum to 2
    const [a, b] = classBalancedWeights([1, 2], 0.9);
    expect(a).toBeCloseTo(1.3103448276, 9);
    expect(b).toBeCloseTo(0.6896551724, 9);
  });

  it('class-balanced weights approach inverse frequency as beta approaches 1', () => {
    const cb = classBalancedWeights([10, 90], 0.999999);
    expect(cb[0]).toBeCloseTo(1.8, 3);
  });

  it('LDAM margins: n^(-1/4), the rarest class at the largest margin', () => {
    expect(ldamMargins([1, 16], 0.5)).toEqual([0.5, 0.25]);
  });

  it('EQL rare-class mask: frequency below lambda', () => {
    expect(rareClassMask([990, 10], 0.05)).toEqual([0, 1]);
  });

  it('refuses negative or non-numeric counts', () => {
    expect(() => inverseFrequencyWeights([3, -1])).toThrow(/class 1/);
    expect(() => classBalancedWeights([3, 1], 1)).toThrow(/beta/);
  });
});
