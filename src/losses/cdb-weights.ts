import { normalizeToClassCount } from './class-weights.js';

/**
 * How tau follows the validation accuracies when it is dynamic.
 * - `paper`: tau = 2 / (1 + exp(-b)), b = max A / (min A + 1e-4) - 1, ranging over [2 / (1 + e), 2) = [0.538, 2) (all-zero accuracies give b = -1).
 * - `official`: what the authors' published CIFAR and EGTEA code computes,
 *   tau = sigmoid(max A / (min A + 0.01)), which only ranges over [0.5, 1).
 */
export type TauRule = 'paper' | 'official';
export type CdbNormalization = 'classes' | 'none';

export interface CdbOptions {
  /** A fixed exponent, or 'dynamic' to derive it from the accuracies after every epoch. */
  tau: number | 'dynamic';
  tauRule?: TauRule;
  /** `classes` (default, as the authors' code): weights scaled to sum to the number of classes; `none`: d^tau as written. */
  normalize?: CdbNormalization;
  /** A floor on difficulty, so a perfectly classified class keeps some weight (default 0, as the paper). */
  minDifficulty?: number;
}

export interface CdbWeights {
  tau: number;
  difficulty: number[];
  weights: number[];
  warnings: string[];
}

function checkAccuracy(accuracy: readonly number[]): void {
  if (accuracy.length === 0) throw new Error('no class accuracies');
  accuracy.forEach((a, c) => {
    if (!Number.isFinite(a) || a < 0 || a > 1) throw new Error(`class ${c}: accuracy ${a} is not in [0, 1]`);
  });
}

export function dynamicTau(accuracy: readonly number[], rule: TauRule = 'paper'): number {
  checkAccuracy(accuracy);
  const best = Math.max(...accuracy);
  const worst = Math.min(...accuracy);
  if (rule === 'official') return 1 / (1 + Math.exp(-(best / (worst + 0.01))));
  const bias = best / (worst + 1e-4) - 1;
  return 2 / (1 + Math.exp(-bias));
}

export function resolveTau(accuracy: readonly number[], options: CdbOptions): number {
  if (options.tau === 'dynamic') return dynamicTau(accuracy, options.tauRule ?? 'paper');
  if (!Number.isFinite(options.tau) || options.tau < 0) throw new Error(`tau ${options.tau} must be a non-negative number or 'dynamic'`);
  return options.tau;
}

/**
 * Class-wise difficulty-balanced weights (Sinha, Ohashi, Nakamura, ACCV 2020):
 * difficulty d_c = 1 - A_c, weight w_c = d_c^tau.
 */
export function cdbWeights(accuracy: readonly number[], options: CdbOptions): CdbWeights {
  checkAccuracy(accuracy);
  const tau = resolveTau(accuracy, options);
  const floor = options.minDifficulty ?? 0;
  if (!(floor >= 0 && floor <= 1)) throw new Error(`minDifficulty ${floor} must lie in [0, 1]`);
  const difficulty = accuracy.map((a) => Math.max(1 - a, floor));
  const raw = difficulty.map((d) => d ** tau);
  const warnings: string[] = [];
  let weights = raw;
  if (raw.every((w) => w === 0)) {
    // The authors' code divides by zero here; training would stall on NaN.
    warnings.push('every class is classified perfectly: all difficulties are 0, so the weights fall back to uniform');
    weights = raw.map(() => 1);
  } else if ((options.normalize ?? 'classes') === 'classes') {
    weights = normalizeToClassCount(raw);
  }
  return { tau, difficulty, weights, warnings };
}
