/** Mean and sample standard deviation (n - 1) of seeds' values; std is null for fewer than two. */
export interface Spread {
  n: number;
  mean: number | null;
  std: number | null;
}

export function spread(values: readonly number[]): Spread {
  const n = values.length;
  if (n === 0) return { n, mean: null, std: null };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, std: null };
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { n, mean, std: Math.sqrt(variance) };
}

/** Paired comparison by seed: mean of (value - baseline) and the seeds where value is lower (better, for an error). */
export interface PairedDifference {
  seeds: number;
  meanDifference: number | null;
  /** Seeds where the value is strictly lower than the baseline's. */
  wins: number;
  ties: number;
}

export function pairedDifference(values: ReadonlyMap<number, number>, baseline: ReadonlyMap<number, number>): PairedDifference {
  const seeds = [...values.keys()].filter((s) => baseline.has(s));
  const differences = seeds.map((s) => values.get(s)! - baseline.get(s)!);
  return {
    seeds: seeds.length,
    meanDifference: seeds.length > 0 ? differences.reduce((a, b) => a + b, 0) / seeds.length : null,
    wins: differences.filter((d) => d < 0).length,
    ties: differences.filter((d) => d === 0).length,
  };
}
