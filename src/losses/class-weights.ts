// Count-based class weights used by the baselines, each scaled to sum to the number of classes
// as their reference code does.

function checkCounts(counts: readonly number[]): void {
  if (counts.length === 0) throw new Error('no class counts');
  counts.forEach((n, c) => {
    if (!Number.isFinite(n) || n < 0) throw new Error(`class ${c}: count ${n} is not a non-negative number`);
  });
}

/** Scales weights to sum to their number; all-zero weights become uniform. */
export function normalizeToClassCount(weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (!(sum > 0) || !Number.isFinite(sum)) return weights.map(() => 1);
  return weights.map((w) => (w * weights.length) / sum);
}

/** w_c proportional to 1 / n_c; a class with no samples gets the largest finite weight's share. */
export function inverseFrequencyWeights(counts: readonly number[]): number[] {
  checkCounts(counts);
  const smallest = Math.min(...counts.filter((n) => n > 0));
  return normalizeToClassCount(counts.map((n) => 1 / (n > 0 ? n : smallest)));
}

/** Class-balanced weights (Cui et al., CVPR 2019): (1 - beta) / (1 - beta^n_c), the effective number of samples. */
export function classBalancedWeights(counts: readonly number[], beta: number): number[] {
  checkCounts(counts);
  if (!(beta >= 0 && beta < 1)) throw new Error(`beta ${beta} must lie in [0, 1)`);
  // A class with no samples gets the weight of a class with one.
  return normalizeToClassCount(counts.map((n) => (1 - beta) / (1 - beta ** Math.max(n, 1))));
}

/** LDAM margins (Cao et al., NeurIPS 2019): m_c proportional to n_c^(-1/4), the largest equal to maxMargin. */
export function ldamMargins(counts: readonly number[], maxMargin: number): number[] {
  checkCounts(counts);
  const raw = counts.map((n) => 1 / Math.sqrt(Math.sqrt(Math.max(n, 1))));
  const largest = Math.max(...raw);
  return raw.map((m) => (m * maxMargin) / largest);
}
