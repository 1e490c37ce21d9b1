import { MODELS, type ModelKind, type SummaryRow } from '../sweep/summary.js';
import { figure, type RenderedChart } from './figure.js';
import { escapeHtml, htmlPage, htmlTable } from './html.js';
import { percent } from '../metrics/metrics-table.js';
import { MODEL_TITLES, orderedSettings, settingTitle, shownSetting, sweepErrorChart } from './sweep-charts.js';
import type { ReportedSweep } from './sweep-files.js';

// Two decimals, as the sweep's summary.md writes its tables.
const pct = (value: number | null) => percent(value, '', 2);
const signedPct = (value: number | null) => (value === null ? '-' : `${value > 0 ? '+' : ''}${pct(value)}`);

/** The losses down, the settings across (the paper's layout), one cell per row of the summary. */
function sweepTable(sweep: ReportedSweep, id: string, caption: string, model: ModelKind, cell: (row: SummaryRow | undefined) => string): string {
  const settings = orderedSettings(sweep);
  const find = (setting: string, variant: string) => sweep.summary.rows.find((r) => r.setting === setting && r.variant === variant && r.model === model);
  return htmlTable(
    id,
    caption,
    [[{ text: 'loss' }, ...settings.map((s) => ({ text: `${settingTitle(sweep)} ${shownSetting(sweep, s)}` }))]],
    sweep.summary.variants.map((variant) => [variant, ...settings.map((s) => cell(find(s, variant)))]),
  );
}

function errorCell(row: SummaryRow | undefined): string {
  if (!row || row.testError.mean === null) return 'not run';
  return `${pct(row.testError.mean)} ± ${row.testError.std === null ? '-' : pct(row.testError.std)} (${row.testError.n} seed${row.testError.n === 1 ? '' : 's'})`;
}

function pairedCell(row: SummaryRow | undefined, baseline: string): string {
  if (!row) return 'not run';
  if (row.variant === baseline) return 'baseline';
  const paired = row.vsBaseline;
  if (!paired || paired.meanDifference === null) return 'no paired seeds';
  return `${signedPct(paired.meanDifference)} (${paired.wins}/${paired.seeds} won)`;
}

/**
 * A sweep's page: for the final and the best-validation model, test error against the swept
 * setting (one line per loss, mean and seed spread), the same numbers as a table, and each loss
 * against the baseline paired by seed; then the summary's protocol. Numbers are summary.json's.
 */
export async function buildSweepPage(sweep: ReportedSweep): Promise<{ html: string; charts: RenderedChart[] }> {
  const { summary } = sweep;
  const charts: RenderedChart[] = [];
  const seeds = [...new Set(summary.rows.flatMap((r) => r.seeds))];
  const body: string[] = [
    '<h1>egtea report: a sweep</h1>',
    `<p>${escapeHtml(sweep.dir)}: made by egtea ${escapeHtml(sweep.command)} (pipeline ${escapeHtml(sweep.pipeline)}); ${summary.variants.length} losses (${escapeHtml(summary.variants.join(', '))}) at ${summary.settings.length} settings of ${escapeHtml(settingTitle(sweep))}, ${seeds.length} seeds; baseline ${escapeHtml(summary.baseline)}.</p>`,
  ];
  if (summary.missing.length > 0)
    body.push(`<p class="note">Not finished (${summary.missing.length}, left out of every mean): ${escapeHtml(summary.missing.join('; '))}</p>`);
  for (const model of MODELS) {
    body.push(`<h2>Test error, ${escapeHtml(MODEL_TITLES[model])}</h2>`);
    body.push(
      `<p class="note">1 - top-1 on the test split, in %: the mean over seeds, and a bar from mean - std to mean + std (sample standard deviation; none for a single seed).${model === 'best' ? ' Each run\u2019s weights of its epoch with the best validation macro recall.' : ' The weights after the last epoch (what the paper reports).'}</p>`,
    );
    const { rendered, html } = await figure(sweepErrorChart(sweep, model));
    charts.push(rendered);
    body.push(html);
    body.push(
      sweepTable(sweep, `table-error-${model}`, `Test error (%), ${MODEL_TITLES[model]}: mean ± sample standard deviation (seeds finished)`, model, errorCell),
    );
    body.push(
      sweepTable(
        sweep,
        `table-paired-${model}`,
        `Against ${summary.baseline}, ${MODEL_TITLES[model]}: mean paired difference of test error (points; negative is better), and the seeds won`,
        model,
        (row) => pairedCell(row, summary.baseline),
      ),
    );
  }
  body.push('<h2>Protocol</h2>', `<ul id="protocol">${summary.protocol.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`);
  return { html: htmlPage(`egtea report: sweep ${sweep.dir}`, body.join('\n')), charts };
}
