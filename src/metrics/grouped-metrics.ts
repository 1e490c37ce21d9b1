import type { ClassGroups } from '../data/class-groups.js';
import { summarize, type ClassResult, type MetricsAccumulator, type SummaryMetrics } from './metrics.js';

export const GROUP_NAMES = ['majority', 'minority'] as const;
export type GroupName = (typeof GROUP_NAMES)[number];

/** One class group's metrics, with the names of its classes. */
export interface GroupMetrics extends SummaryMetrics {
  classes: string[];
}

/**
 * Metrics by class group, the one shape validation (history.jsonl), evaluation (eval-*.json),
 * compare and the tables use: every class, each chosen group, and per class.
 */
export interface GroupedMetrics<G extends GroupName = GroupName> extends SummaryMetrics {
  groups: Record<G, GroupMetrics>;
  perClass: ClassResult[];
}

/** Builds the grouped metrics of an accumulator for the chosen groups (default both). */
export function groupedMetrics<G extends GroupName = GroupName>(metrics: MetricsAccumulator, groups: ClassGroups, names: readonly G[] = GROUP_NAMES as unknown as readonly G[]): GroupedMetrics<G> {
  const all = metrics.result();
  const byGroup = {} as Record<G, GroupMetrics>;
  for (const name of names) {
    byGroup[name] = { ...summarize(metrics.result(groups[name])), classes: groups[name].map((c) => metrics.classNames[c]!) };
  }
  return { ...summarize(all), groups: byGroup, perClass: all.perClass };
}
