import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { buildReport } from '../report/build-report.js';
import { svgToPng } from '../report/render-chart.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { emit } from './output.js';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'one self-contained HTML page of runs (classes, training curves, CDB weights, confusion matrices, result tables) or of a sweep (test error against the swept setting per loss, paired differences)',
    )
    .argument('<folders...>', 'run folders made by egtea train (evaluated with egtea eval for the results), or one folder made by egtea sweep or egtea paper')
    .option('--out <file>', 'the HTML file to write', 'report.html')
    .option('--png <dir>', 'also write every chart as SVG and PNG into this folder')
    .option('--json', 'print one JSON document', false)
    .action(async (runs: string[], options: { out: string; png?: string; json: boolean }) => {
      if (!options.out.endsWith('.html')) throw new UserError(`--out ${options.out}: the report is an HTML file; give a name ending in .html`);
      const report = await buildReport(runs);
      // A stale evaluation is left out of the page; say so where the command was run too.
      for (const run of report.runs) for (const message of run.staleEvaluations) process.stderr.write(`warning: left out of the report: ${message}\n`);
      await fs.mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
      await writeFileAtomic(options.out, report.html);
      const images: string[] = [];
      if (options.png !== undefined) {
        await fs.mkdir(options.png, { recursive: true });
        for (const chart of report.charts) {
          const base = path.join(options.png, chart.id);
          await writeFileAtomic(`${base}.svg`, chart.svg);
          await writeFileAtomic(`${base}.png`, svgToPng(chart.svg));
          images.push(`${base}.svg`, `${base}.png`);
        }
      }
      const document = {
        out: options.out,
        runs: report.runs.map((r) => r.dir),
        sweep: report.sweep,
        charts: report.charts.map((c) => ({ id: c.id, title: c.title })),
        images,
      };
      emit(options.json, document, () =>
        [
          `wrote ${options.out}: ${report.charts.length} charts of ${report.sweep !== null ? `the sweep ${report.sweep}` : `${report.runs.length} run${report.runs.length === 1 ? '' : 's'}`}`,
          ...(images.length ? [`and ${images.length} images in ${options.png}`] : []),
        ].join('\n'),
      );
    });
}
