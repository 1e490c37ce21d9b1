/** Majority = the k most frequent classes of the training file; minority = the rest. */
export interface ClassGroups {
  majority: number[];
  minority: number[];
}

export function countPerClass(labels: readonly number[], numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const label of labels) counts[label]! += 1;
  return counts;
}

/** Ties break towards the lower class index, so the groups never depend on sort stability. */
export function classGroups(trainingCounts: readonly number[], majorityCount = 5): ClassGroups {
  if (majorityCount < 0 || majorityCount > trainingCounts.length) {
    throw new Error(`the majority group needs between 0 and ${trainingCounts.length} classes, not ${majorityCount}`);
  }
  const order = trainingCounts.map((n, c) => [n, c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const majority = order.slice(0, majorityCount).map(([, c]) => c).sort((a, b) => a - b);
  const minority = order.slice(majorityCount).map(([, c]) => c).sort((a, b) => a - b);
  return { majority, minority };
}

export function meanCount(counts: readonly number[], classes: readonly number[]): number {
  return classes.length === 0 ? 0 : classes.reduce((sum, c) => sum + counts[c]!, 0) / classes.length;
}
