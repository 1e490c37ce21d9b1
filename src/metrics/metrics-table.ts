import type { GroupMetrics } from './grouped-metrics.js';
import type { SummaryMetrics } from './metrics.js';
import { table } from '../util/table.js';

/** A fraction as a percentage (one decimal unless told); '-' when nothing was measured. */
export function percent(value: number | null | undefined, unit = '', digits = 1): string {
  return value === null || value === undefined ? '-' : `${(100 * value).toFixed(digits)}${unit}`;
}

/** Rows of summary metrics (every class, then class groups) as a table, in percent. */
export function metricsTable(rows: { name: string; metrics: SummaryMetrics }[]): string {
  return table(
    ['classes', 'clips', 'top-1', 'top-5', 'macro recall', 'macro precision'],
    rows.map(({ name, metrics: m }) => [name, m.samples, percent(m.top1), percent(m.top5), percent(m.macroRecall), percent(m.macroPrecision)]),
  );
}

/** A group as tables name it: its name, the rule that chose it and its size ('many (> 100 training samples; 3 classes)'). */
export function groupLabel(name: string, group: Pick<GroupMetrics, 'classes' | 'rule'>): string {
  const size = `${group.classes.length} ${group.classes.length === 1 ? 'class' : 'classes'}`;
  return `${name} (${group.rule ? `${group.rule}; ` : ''}${size})`;
}

/** Grouped metrics (see GroupedMetrics) as a table: every class, then each group with its rule and class count. */
export function groupedMetricsTable(metrics: SummaryMetrics & { groups: Partial<Record<string, GroupMetrics>> }): string {
  const groups = Object.entries(metrics.groups).flatMap(([name, g]) => (g ? [{ name: groupLabel(name, g), metrics: g }] : []));
  return metricsTable([{ name: 'all', metrics }, ...groups]);
}
