import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/files.js';
import type { Cell } from './grid.js';
import { DamagedCellResult, readCellResult, type CellResult, type ModelResult } from './run-cell.js';
import { pairedDifference, spread, type PairedDifference, type Spread } from './stats.js';
import type { SweepSource } from './source.js';

export const MODELS = ['final', 'best'] as const;
export type ModelKind = (typeof MODELS)[number];

/** One loss at one setting, one model kind, over the seeds that finished. */
export interface SummaryRow {
  setting: string;
  variant: string;
  model: ModelKind;
  seeds: number[];
  /** In [0, 1]: 1 - top-1 on the test split. */
  testError: Spread;
  top1: Spread;
  macroRecall: Spread;
  groupRecall: Record<string, Spread>;
  perClassAccuracy: Spread[];
  epoch: Spread;
  /** Test error against the baseline loss of the same setting, paired by seed (null for the baseline). */
  vsBaseline: PairedDifference | null;
}

export interface SweepSummary {
  protocol: string[];
  baseline: string;
  classes: string[];
  settings: string[];
  variants: string[];
  rows: SummaryRow[];
  /** Cells with no result (failed or not run yet). */
  missing: string[];
  /** Results that could not be read, each a message naming the file and what to do (their cells count as missing; absent in summaries of older versions). */
  damaged?: string[];
}

const pct = (v: number | null, digits = 2) => (v === null ? 'n/a' : (100 * v).toFixed(digits));
const pm = (s: Spread) => (s.mean === null ? 'n/a' : `${pct(s.mean)} ± ${s.std === null ? 'n/a' : pct(s.std)}`);
const signed = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${(100 * v).toFixed(2)}`);

interface DatasetRecord {
  settings: Record<string, number>;
  counts: { train: number[]; validation: number[]; test: number[] };
  classes: string[];
}

/** The protocol written above the tables: data, scale, model, schedule, seeds. */
async function protocol(
  out: string,
  cells: readonly Cell[],
  results: (CellResult | null)[],
  context: { source: SweepSource | null; pipelineName: string; jobs: number },
): Promise<string[]> {
  const p = cells[0]!.pipeline;
  const s = p.schedule;
  const seeds = [...new Set(cells.map((c) => c.seed))];
  const lines: string[] = [];
  const first = results.find((r) => r !== null) ?? null;
  const perEpoch = first ? Math.ceil(first.trainingCounts.reduce((a, b) => a + b, 0) / s.batchSize) : null;
  if (context.source) {
    const dataset = JSON.parse(
      await fs.readFile(path.join(out, 'data', cells[0]!.dataKey, 'dataset.json'), 'utf8').catch(() => 'null'),
    ) as DatasetRecord | null;
    const classes = context.source.classes ? `classes ${context.source.classes.minority} (minority) vs ${context.source.classes.majority} (majority)` : '';
    lines.push(`Data: ${context.source.dataset} built from ${context.source.dir}${classes ? `, ${classes}` : ''}; every seed chooses its own images.`);
    if (dataset) {
      const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
      const sizes = dataset.settings;
      const full = sizes.trainingImages === 5000 && sizes.validationPerClass === 500 && sizes.testPerClass === 800;
      lines.push(
        `Per seed: ${sum(dataset.counts.train)} training images (majority share per column), ${Math.min(...dataset.counts.validation)} validation and ${Math.min(...dataset.counts.test)} test images per class` +
          (sizes.trainingImages !== undefined
            ? full
              ? " (the paper's full size)."
              : ` (SCALED protocol: the paper uses 5000 / 500 / 800; here ${sizes.trainingImages} / ${sizes.validationPerClass} / ${sizes.testPerClass}).`
            : '.'),
      );
    }
  } else {
    lines.push(`Data: the pipeline's own (${p.dataset.annotations}); the seed sets the training randomness only.`);
  }
  lines.push(
    `Model and schedule: pipeline ${context.pipelineName}, ${p.model.arch}${p.model.arch === 'lenet5' ? ` (${p.model.initializer ?? 'torch-default'} initialisation)` : ''}, batch ${s.batchSize}, SGD lr ${s.learningRate}, momentum ${s.momentum}, weight decay ${s.weightDecay}, ` +
      `${scheduleRun(cells, results, perEpoch)}, validation after every epoch.`,
  );
  lines.push(`Seeds: ${seeds.join(', ')} (${seeds.length}); ${cells.length} runs, ${context.jobs} at a time.`);
  if (first && Object.keys(first.final.groups).length > 0) {
    const groups = Object.entries(first.final.groups).map(
      ([name, g]) => `${name} = ${g.rule ?? 'as chosen'} (${g.classes} ${g.classes === 1 ? 'class' : 'classes'})`,
    );
    lines.push(`Class groups (of the first finished run's training counts): ${groups.join('; ')}.`);
  }
  if (first?.posthoc)
    lines.push(
      `Post-hoc logit adjustment: the ce runs are also evaluated with logits - ${first.posthoc.tau} log prior (the training counts), shown as ce+posthoc-la(t=${first.posthoc.tau}).`,
    );
  lines.push(
    'Test error = 1 - top-1 on the balanced test split, in %, mean ± sample standard deviation over seeds. final: the weights after the last epoch (what the paper reports); best: the epoch with the best validation macro recall.',
  );
  return lines;
}

/** A schedule's rate decay in words: "lr x0.1 after epoch 30". */
function decayText(s: Cell['pipeline']['schedule'], epochs: number): string {
  const decay = s.milestones.filter((m) => m < epochs);
  return decay.length > 0 ? `lr x${s.gamma} after epoch ${decay.join(', ')}` : `no rate decay reached (milestones ${s.milestones.join(', ') || 'none'})`;
}

/** The learning rates a result's history holds, in words: "lr 0.01, 0.001 from epoch 31". */
function ratesText(rates: readonly { epoch: number; learningRate: number }[]): string {
  // 0.001 x 0.1 is 0.00010000000000000002 in binary floating point: six digits say it.
  const rate = (r: { learningRate: number }) => String(Number(r.learningRate.toPrecision(6)));
  return rates.length <= 1 ? 'no rate decay reached' : `lr ${rates.map((r, i) => (i === 0 ? rate(r) : `${rate(r)} from epoch ${r.epoch}`)).join(', ')}`;
}

/**
 * The schedule the finished cells ran, from their histories (a rerun with fewer --epochs keeps
 * longer runs, and their results say so), with how --epochs scaled the milestones; the plan when
 * nothing finished yet.
 */
function scheduleRun(cells: readonly Cell[], results: readonly (CellResult | null)[], perEpoch: number | null): string {
  const s = cells[0]!.pipeline.schedule;
  const scaling = cells[0]!.scheduleScaling;
  const scaled = scaling
    ? ` (milestones scaled with --epochs: the pipeline's ${scaling.fromMilestones.join(', ')} of ${scaling.fromEpochs} epochs became ${scaling.milestones.join(', ')} of ${scaling.epochs})`
    : '';
  const finished = results.filter((r): r is CellResult => r !== null);
  const iterations = (epochs: number) => (perEpoch ? ` = ${epochs * perEpoch} iterations` : '');
  if (finished.length === 0) return `${decayText(s, s.epochs)}${scaled}; ${s.epochs} epochs${iterations(s.epochs)} (planned; no cell finished)`;
  const byEpochs = new Map<number, number>();
  for (const r of finished) byEpochs.set(r.epochs, (byEpochs.get(r.epochs) ?? 0) + 1);
  const rates = [...new Set(finished.map((r) => (r.learningRates ? ratesText(r.learningRates) : null)))];
  // Results of an older egtea hold no rates: the plan is not what they ran (their milestones may not have scaled).
  const decay =
    rates.length === 1 && rates[0] !== null
      ? rates[0]
      : rates.every((r) => r === null)
        ? `learning rates not recorded by these results (an older egtea; the plan: ${decayText(s, s.epochs)})`
        : `learning rates differ between cells (${rates.map((r) => r ?? 'not recorded').join('; ')})`;
  const epochs =
    byEpochs.size === 1
      ? `${finished[0]!.epochs} epochs${iterations(finished[0]!.epochs)}`
      : `epochs differ between cells: ${[...byEpochs].map(([e, n]) => `${e} (${n} cells)`).join(', ')}`;
  const longer = finished.filter((r) => r.epochs > s.epochs).length;
  const note = longer > 0 ? ` (asked for ${s.epochs}; ${longer} finished cells had trained longer before, and a run is not shortened)` : '';
  return `${decay}${scaled}; ${epochs}${note}`;
}

function rowOf(
  setting: string,
  variant: string,
  model: ModelKind,
  entries: { seed: number; result: ModelResult }[],
  classes: number,
  groups: string[],
): SummaryRow {
  const of = (f: (r: ModelResult) => number | null) => spread(entries.flatMap((e) => (f(e.result) === null ? [] : [f(e.result)!])));
  return {
    setting,
    variant,
    model,
    seeds: entries.map((e) => e.seed),
    testError: of((r) => (r.overall.top1 === null ? null : 1 - r.overall.top1)),
    top1: of((r) => r.overall.top1),
    macroRecall: of((r) => r.overall.macroRecall),
    groupRecall: Object.fromEntries(groups.map((g) => [g, of((r) => r.groups[g]?.macroRecall ?? null)])),
    perClassAccuracy: Array.from({ length: classes }, (_, c) => of((r) => r.perClassAccuracy[c] ?? null)),
    epoch: of((r) => r.epoch),
    vsBaseline: null,
  };
}

/** Mean ± std over seeds per setting and loss, and paired differences against the baseline loss. */
export async function summarizeSweep(
  out: string,
  cells: readonly Cell[],
  context: { baseline: string; source: SweepSource | null; pipelineName: string; jobs: number },
): Promise<SweepSummary> {
  const damaged: string[] = [];
  // A damaged result.json leaves its cell out (as unfinished), named, and the rest is summarised.
  const read = (c: Cell) =>
    readCellResult(path.join(out, 'runs', c.name), c.pipeline.schedule.epochs).catch((error: unknown) => {
      if (!(error instanceof DamagedCellResult)) throw error;
      damaged.push(error.message);
      return null;
    });
  const results = await Promise.all(cells.map(read));
  const settings = [...new Set(cells.map((c) => c.settingLabel))];
  // Each finished cell's models, and its post-hoc adjusted models as a variant of their own.
  const runs = cells.flatMap((c, i) => {
    const r = results[i];
    if (!r) return [];
    return [
      { cell: c, variant: c.variant.label, models: r as Pick<CellResult, ModelKind> },
      ...(r.posthoc ? [{ cell: c, variant: `${c.variant.label}+posthoc-la(t=${r.posthoc.tau})`, models: r.posthoc }] : []),
    ];
  });
  const variants = [...new Set(cells.map((c) => c.variant.label))].flatMap((label) => [
    label,
    ...new Set(runs.filter((r) => r.variant !== label && r.cell.variant.label === label).map((r) => r.variant)),
  ]);
  const first = results.find((r) => r !== null);
  const classes = first?.classes ?? [];
  const groups = first ? Object.keys(first.final.groups) : [];
  const rows: SummaryRow[] = [];
  for (const setting of settings) {
    for (const model of MODELS) {
      const errorsBySeed = new Map<string, Map<number, number>>();
      for (const variant of variants) {
        const entries = runs.flatMap((r) => (r.cell.settingLabel === setting && r.variant === variant ? [{ seed: r.cell.seed, result: r.models[model] }] : []));
        rows.push(rowOf(setting, variant, model, entries, classes.length, groups));
        errorsBySeed.set(variant, new Map(entries.filter((e) => e.result.overall.top1 !== null).map((e) => [e.seed, 1 - e.result.overall.top1!])));
      }
      const baseline = errorsBySeed.get(context.baseline);
      if (baseline) {
        for (const row of rows.filter((r) => r.setting === setting && r.model === model && r.variant !== context.baseline)) {
          row.vsBaseline = pairedDifference(errorsBySeed.get(row.variant)!, baseline);
        }
      }
    }
  }
  return {
    protocol: await protocol(out, cells, results, context),
    baseline: context.baseline,
    classes,
    settings,
    variants,
    rows,
    missing: cells.flatMap((c, i) => (results[i] ? [] : [c.name])),
    damaged,
  };
}

/** A markdown table. */
function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The losses down, the settings across (the paper's layout), one value per cell. */
export function gridTable(summary: SweepSummary, model: ModelKind, value: (row: SummaryRow) => string): string {
  const find = (setting: string, variant: string) => summary.rows.find((r) => r.setting === setting && r.variant === variant && r.model === model)!;
  return markdownTable(
    ['loss', ...summary.settings],
    summary.variants.map((v) => [v, ...summary.settings.map((s) => value(find(s, v)))]),
  );
}

function summaryMarkdown(summary: SweepSummary): string {
  const parts = ['# Sweep summary', '', ...summary.protocol.map((l) => `- ${l}`), ''];
  for (const model of MODELS) {
    parts.push(
      `## Test error (%), ${model} model`,
      '',
      gridTable(summary, model, (r) => pm(r.testError)),
      '',
    );
    parts.push(
      `## Against ${summary.baseline}, ${model} model: mean paired difference of test error (points; negative is better), seeds won`,
      '',
      gridTable(summary, model, (r) => (r.vsBaseline ? `${signed(r.vsBaseline.meanDifference)} (${r.vsBaseline.wins}/${r.vsBaseline.seeds})` : 'baseline')),
      '',
    );
  }
  parts.push('## Details (%)', '');
  const groupNames = Object.keys(summary.rows[0]?.groupRecall ?? {});
  parts.push(
    markdownTable(
      [
        'setting',
        'loss',
        'model',
        'seeds',
        'test error',
        'top-1',
        'macro recall',
        ...groupNames.map((g) => `${g} recall`),
        ...summary.classes.map((c) => `class ${c} acc.`),
        'epoch',
      ],
      summary.rows.map((r) => [
        r.setting,
        r.variant,
        r.model,
        String(r.seeds.length),
        pm(r.testError),
        pm(r.top1),
        pm(r.macroRecall),
        ...groupNames.map((g) => pm(r.groupRecall[g]!)),
        ...r.perClassAccuracy.map(pm),
        r.epoch.mean === null ? 'n/a' : r.epoch.mean.toFixed(1),
      ]),
    ),
  );
  if (summary.missing.length > 0) parts.push('', `Not finished (${summary.missing.length}): ${summary.missing.join('; ')}`);
  const damaged = summary.damaged ?? [];
  if (damaged.length > 0) parts.push('', `Damaged results (${damaged.length}):`, '', ...damaged.map((d) => `- ${d}`));
  return `${parts.join('\n')}\n`;
}

function summaryCsv(summary: SweepSummary): string {
  const groupNames = Object.keys(summary.rows[0]?.groupRecall ?? {});
  const header = [
    'setting',
    'loss',
    'model',
    'seeds',
    'test_error_mean',
    'test_error_std',
    'top1_mean',
    'top1_std',
    'macro_recall_mean',
    'macro_recall_std',
    ...groupNames.flatMap((g) => [`${g}_recall_mean`, `${g}_recall_std`]),
    ...summary.classes.flatMap((c) => [`class_${c}_accuracy_mean`, `class_${c}_accuracy_std`]),
    'epoch_mean',
    `diff_vs_${summary.baseline}_mean`,
    'seeds_won',
    'seeds_paired',
  ];
  const num = (v: number | null) => (v === null ? '' : String(v));
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = summary.rows.map((r) =>
    [
      r.setting,
      r.variant,
      r.model,
      String(r.seeds.length),
      num(r.testError.mean),
      num(r.testError.std),
      num(r.top1.mean),
      num(r.top1.std),
      num(r.macroRecall.mean),
      num(r.macroRecall.std),
      ...groupNames.flatMap((g) => [num(r.groupRecall[g]!.mean), num(r.groupRecall[g]!.std)]),
      ...r.perClassAccuracy.flatMap((s) => [num(s.mean), num(s.std)]),
      num(r.epoch.mean),
      num(r.vsBaseline?.meanDifference ?? null),
      r.vsBaseline ? String(r.vsBaseline.wins) : '',
      r.vsBaseline ? String(r.vsBaseline.seeds) : '',
    ]
      .map(quote)
      .join(','),
  );
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

/** The summary's machine-readable file in a sweep folder (summary.md and .csv sit beside it). */
export const SUMMARY_FILE = 'summary.json';

export async function writeSummary(out: string, summary: SweepSummary): Promise<void> {
  await writeFileAtomic(path.join(out, SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFileAtomic(path.join(out, 'summary.md'), summaryMarkdown(summary));
  await writeFileAtomic(path.join(out, 'summary.csv'), summaryCsv(summary));
}
