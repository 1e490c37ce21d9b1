import type { ComparedRun } from '../eval/compare-runs.js';
import { percent } from './metrics-table.js';
import { table } from './table.js';

/**
 * Several evaluated runs in one table, by class group: for each run a line of every class,
 * then a line per group (top-1, top-5, macro recall and precision, in percent). `egtea compare`
 * and `egtea demo` print it.
 */
export function comparisonTable(compared: readonly ComparedRun[]): string {
  const lines = compared.map((c) => {
    const groups = Object.entries(c.groups).flatMap(([name, g]) => (g ? [{ name: `${name} (${g.classes.length})`, metrics: g }] : []));
    return [{ name: 'all', metrics: c.overall }, ...groups];
  });
  // Group names read left-aligned (the table right-aligns every column but the first).
  const width = Math.max('classes'.length, ...lines.flat().map((l) => l.name.length));
  const rows = compared.flatMap((c, r) =>
    lines[r]!.map(({ name, metrics: m }, i) => [
      ...(i === 0 ? [c.run, c.loss, c.loss === 'cdb' ? String(c.tau) : '-', c.seed] : ['', '', '', '']),
      name.padEnd(width),
      m.samples,
      percent(m.top1),
      percent(m.top5),
      percent(m.macroRecall),
      percent(m.macroPrecision),
    ]),
  );
  return table(['run', 'loss', 'tau', 'seed', 'classes'.padEnd(width), 'clips', 'top-1', 'top-5', 'macro recall', 'macro precision'], rows);
}
