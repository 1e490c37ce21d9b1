import { UserError } from '../util/errors.js';
import { cdbChart, classesChart, confusionChart, curvesChart, MAX_MATRIX_CLASSES, shownEvaluation, weightsChart, type ChartSpec } from './chart-specs.js';
import { escapeHtml, htmlPage, htmlTable } from './html.js';
import { GROUP_NAMES, type GroupName } from '../data/class-groups.js';
import { groupLabel, percent } from '../metrics/metrics-table.js';
import { figure, type RenderedChart } from './figure.js';
import { DEFAULT_PLOT_TAUS } from './weights-plot.js';
import { readReportedRun, type ReportedRun } from './run-files.js';
import { isSweepFolder, readReportedSweep } from './sweep-files.js';
import { buildSweepPage } from './sweep-report.js';

export interface Report {
  html: string;
  charts: RenderedChart[];
  /** The run folders shown (none for a sweep). */
  runs: ReportedRun[];
  /** The sweep folder shown, or null. */
  sweep: string | null;
}

/** Legend names: folder base names, or whole paths when two runs share a base name. */
function labelRuns(runs: ReportedRun[]): void {
  const seen = new Map<string, number>();
  for (const run of runs) seen.set(run.label, (seen.get(run.label) ?? 0) + 1);
  for (const run of runs) if (seen.get(run.label)! > 1) run.label = run.dir;
}

function lossName(run: ReportedRun): string {
  const loss = run.info.pipeline.loss;
  return loss.name === 'cdb' ? `cdb, tau ${loss.tau}` : loss.name;
}

/** The paper's Table 6 (overall) and Table 7 (by class group) for the runs with a saved evaluation, post-hoc adjusted ones as lines of their own. */
function resultTables(runs: ReportedRun[]): string {
  const evaluated = runs.flatMap((run) => {
    const shown = shownEvaluation(run);
    if (!shown) return [];
    return [{ run, ...shown }, ...(run.posthoc[shown.split] ?? []).map((evaluation) => ({ run, split: shown.split, evaluation }))];
  });
  if (evaluated.length === 0) return '<p class="note">No run has a saved evaluation yet (egtea eval --run DIR).</p>';
  const name = (e: (typeof evaluated)[number]) =>
    `${e.run.label} (${lossName(e.run)}${e.evaluation.posthoc ? `, post-hoc LA t=${e.evaluation.posthoc.tau}` : ''}; ${e.split}, ${e.evaluation.clips} clips)`;
  const overall = htmlTable(
    'table-overall',
    'Overall, in % (the layout of the paper\u2019s Table 6)',
    [[{ text: 'run' }, { text: 'Acc@Top1' }, { text: 'Acc@Top5' }, { text: 'Recall' }, { text: 'Precision' }]],
    evaluated.map((e) => [
      name(e),
      percent(e.evaluation.top1),
      percent(e.evaluation.top5),
      percent(e.evaluation.macroRecall),
      percent(e.evaluation.macroPrecision),
    ]),
  );
  const groups = GROUP_NAMES.filter((g) => evaluated.some((e) => e.evaluation.groups[g] !== undefined));
  // Each group's heading states its rule and size, as the first evaluation holding it has them.
  const heading = (g: string) => groupLabel(g, evaluated.find((e) => e.evaluation.groups[g as GroupName])!.evaluation.groups[g as GroupName]!);
  const byGroup = htmlTable(
    'table-groups',
    'By class group: macro recall and precision, in % (majority/minority: the layout of the paper\u2019s Table 7; many/medium/few: by training samples)',
    [[{ text: 'run', rows: 2 }, ...groups.map((g) => ({ text: heading(g), span: 2 }))], groups.flatMap(() => [{ text: 'Recall' }, { text: 'Precision' }])],
    evaluated.map((e) => [name(e), ...groups.flatMap((g) => [percent(e.evaluation.groups[g]?.macroRecall), percent(e.evaluation.groups[g]?.macroPrecision)])]),
  );
  return `${overall}\n${byGroup}`;
}

/**
 * Reads run folders, or one sweep folder (egtea sweep, egtea paper), and builds the report: one
 * HTML page and each chart's SVG.
 */
export async function buildReport(dirs: readonly string[]): Promise<Report> {
  if (dirs.length === 0) throw new UserError('give at least one run folder, or one sweep folder');
  const sweeps: string[] = [];
  for (const dir of dirs) if (await isSweepFolder(dir)) sweeps.push(dir);
  if (sweeps.length > 0) {
    if (dirs.length > 1) throw new UserError(`${sweeps[0]}: a sweep folder gets a report of its own; give it alone (its runs are under ${sweeps[0]}/runs)`);
    const page = await buildSweepPage(await readReportedSweep(sweeps[0]!));
    return { ...page, runs: [], sweep: sweeps[0]! };
  }
  const runs: ReportedRun[] = [];
  for (const dir of dirs) runs.push(await readReportedRun(dir));
  const classes = JSON.stringify(runs[0]!.info.classes);
  for (const run of runs.slice(1)) {
    if (JSON.stringify(run.info.classes) !== classes)
      throw new UserError(`${run.dir}: trained on other classes than ${runs[0]!.dir}; one report shows runs of one dataset`);
  }
  labelRuns(runs);

  const sections: { heading: string; charts: (ChartSpec | null)[]; note?: string }[] = [
    { heading: 'Classes', charts: [classesChart(runs)] },
    { heading: 'Training curves', charts: runs.map(curvesChart), note: 'Dashed lines mark the epochs whose learning rate changed.' },
    {
      heading: 'CDB over the epochs',
      charts: runs.map(cdbChart),
      note: 'Each epoch\u2019s validation accuracy A_c gives the difficulty 1 - A_c and the weight the next epoch trains with. Runs of other losses have no CDB state.',
    },
    {
      heading: 'Confusion matrices',
      charts: runs.map(confusionChart),
      note: `Rows: true class, columns: predicted class, in training order; each row divided by its clips.${runs[0]!.info.classes.length > MAX_MATRIX_CLASSES ? ` Not drawn for ${runs[0]!.info.classes.length} classes (more than ${MAX_MATRIX_CLASSES}); eval-<split>.json holds the matrix.` : ''}`,
    },
    { heading: 'Weights against difficulty', charts: [weightsChart(DEFAULT_PLOT_TAUS)] },
  ];
  const charts: RenderedChart[] = [];
  const body: string[] = [
    `<h1>egtea report</h1>`,
    `<ul>${runs.map((r) => `<li>${escapeHtml(r.label)}: ${escapeHtml(r.dir)} (${escapeHtml(r.info.pipeline.name)}, ${escapeHtml(lossName(r))}, seed ${r.info.seed}, ${r.history.length} epochs)</li>`).join('')}</ul>`,
  ];
  body.push('<h2>Results</h2>', resultTables(runs));
  for (const message of runs.flatMap((r) => r.staleEvaluations)) body.push(`<p class="note">Left out: ${escapeHtml(message)}</p>`);
  for (const section of sections) {
    body.push(`<h2>${escapeHtml(section.heading)}</h2>`);
    if (section.note) body.push(`<p class="note">${escapeHtml(section.note)}</p>`);
    const present = section.charts.filter((c): c is ChartSpec => c !== null);
    if (present.length === 0) body.push('<p class="note">Nothing to show for these runs.</p>');
    for (const chart of present) {
      const { rendered, html } = await figure(chart);
      charts.push(rendered);
      body.push(html);
    }
  }
  return { html: htmlPage(`egtea report: ${runs.map((r) => r.label).join(', ')}`, body.join('\n')), charts, runs, sweep: null };
}
