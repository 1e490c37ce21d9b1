import type { ComparedRun } from '../eval/compare-runs.js';
import { groupLabel, percent } from '../metrics/metrics-table.js';
import { table } from '../util/table.js';

/** The loss a line shows: a post-hoc logit adjustment with its t. */
function lossLabel(c: ComparedRun): string {
  return `${c.loss}${c.posthocTau === null ? '' : ` + post-hoc LA (t=${c.posthocTau})`}`;
}

/** Each group the runs hold, stated once with its rule and size; a group whose classes differ between runs says so. */
function groupRules(compared: readonly ComparedRun[]): string[] {
  const names = [...new Set(compared.flatMap((c) => Object.keys(c.groups).filter((name) => c.groups[name] !== undefined)))];
  return names.map((name) => {
    const all = compared.flatMap((c) => (c.groups[name] ? [c.groups[name]!] : []));
    const same = all.every((g) => JSON.stringify(g.classes) === JSON.stringify(all[0]!.classes));
    return `  ${groupLabel(name, all[0]!)}${same ? '' : ': its classes differ between runs (other thresholds or training counts)'}`;
  });
}

/**
 * Several evaluated runs in one table, by class group: the groups' rules first, then for each run
 * a line of every class and a line per group (top-1, top-5, macro recall and precision, in
 * percent). `egtea compare` and `egtea demo` print it.
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
      ...(i === 0 ? [c.run, lossLabel(c), c.loss === 'cdb' ? String(c.tau) : '-', c.seed] : ['', '', '', '']),
      name.padEnd(width),
      m.samples,
      percent(m.top1),
      percent(m.top5),
      percent(m.macroRecall),
      percent(m.macroPrecision),
    ]),
  );
  const rules = groupRules(compared);
  return [
    ...(rules.length > 0 ? ['class groups:', ...rules] : []),
    table(['run', 'loss', 'tau', 'seed', 'classes'.padEnd(width), 'clips', 'top-1', 'top-5', 'macro recall', 'macro precision'], rows),
  ].join('\n');
}
