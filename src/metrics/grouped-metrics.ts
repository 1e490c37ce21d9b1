import type { ClassGroup, GroupName } from '../data/class-groups.js';
import { summarize, type MetricsAccumulator, type SummaryMetrics } from './metrics.js';
import type { ClassResult } from './metrics.js';

export { GROUP_NAMES, type GroupName } from '../data/class-groups.js';

/** One class group's metrics, with the names of its classes and the rule that chose them. */
export interface GroupMetrics extends SummaryMetrics {
  classes: string[];
  /** '> 100 training samples', 'the 5 most frequent training classes' (absent in files of older versions). */
  rule?: string;
}

/**
 * Metrics by class group, the one shape validation (history.jsonl), evaluation (eval-*.json),
 * compare and the tables use: every class, each chosen group, and per class.
 */
export interface GroupedMetrics<G extends GroupName = GroupName> extends SummaryMetrics {
  groups: Record<G, GroupMetrics>;
  perClass: ClassResult[];
}

/** Builds the grouped metrics of an accumulator for the chosen groups. */
export function groupedMetrics<G extends GroupName>(metrics: MetricsAccumulator, groups: Record<G, ClassGroup>, names: readonly G[]): GroupedMetrics<G> {
  const all = metrics.result();
  const byGroup = {} as Record<G, GroupMetrics>;
  for (const name of names) {
    const group = groups[name];
    byGroup[name] = { ...summarize(metrics.result(group.classes)), classes: group.classes.map((c) => metrics.classNames[c]!), rule: group.rule };
  }
  return { ...summarize(all), groups: byGroup, perClass: all.perClass };
}
