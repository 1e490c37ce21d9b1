import path from 'node:path';
import type { Command } from 'commander';
import { PIPELINES } from '../../pipelines/index.js';
import { parseClassPair, type ClassPair } from '../data/images/class-pair.js';
import { IMAGE_DATASETS, sourceId, type ImageDataset } from '../data/images/import-images.js';
import { LOSS_NAMES, type LossName } from '../losses/create-loss.js';
import { lossVariants, type GridSpec } from '../sweep/grid.js';
import { runCell } from '../sweep/run-cell.js';
import { parseSetArgument, type SetArgument } from '../sweep/set-argument.js';
import { gridTable, type SweepSummary } from '../sweep/summary.js';
import type { SweepSource } from '../sweep/source.js';
import { runSweep } from '../sweep/sweep.js';
import { UserError } from '../util/errors.js';
import { parseChoice, parseChoiceList, parsePositiveInt, parseTau } from './options.js';
import { resolvePipeline } from './resolve-pipeline.js';
import { emit, log } from './output.js';

interface SweepCommandOptions {
  pipeline: string;
  loss: LossName[];
  tau: string;
  set: SetArgument[];
  seeds: string;
  epochs?: number;
  jobs: number;
  baseline: string;
  out: string;
  data: string;
  source?: string;
  dataset?: ImageDataset;
  classes?: ClassPair;
  run: boolean;
  json: boolean;
}

/** `--seeds 3` is seeds 1 to 3; `--seeds 4,7` those seeds. */
export function parseSeeds(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const numbers = parts.map(Number);
  if (parts.some((p) => p === '') || !numbers.every((n) => Number.isInteger(n) && n > 0)) throw new UserError(`--seeds: expected a count (3) or a list of positive seeds (1,2,5), got '${value}'`);
  if (numbers.length === 1) return Array.from({ length: numbers[0]! }, (_, i) => i + 1);
  if (new Set(numbers).size !== numbers.length) throw new UserError(`--seeds: '${value}' repeats a seed`);
  return numbers;
}

function parseTaus(value: string): (number | 'dynamic')[] {
  return value.split(',').map((t) => parseTau(t.trim()));
}

/** What a sweep prints: the protocol and the test-error grid of the final and best models. */
function sweepText(summary: SweepSummary, out: string): string {
  return [
    ...summary.protocol,
    '',
    'Test error (%), final model:',
    gridTable(summary, 'final', (r) => (r.testError.mean === null ? 'n/a' : `${(100 * r.testError.mean).toFixed(2)} ± ${r.testError.std === null ? 'n/a' : (100 * r.testError.std).toFixed(2)}`)),
    '',
    'Test error (%), best-validation model:',
    gridTable(summary, 'best', (r) => (r.testError.mean === null ? 'n/a' : `${(100 * r.testError.mean).toFixed(2)} ± ${r.testError.std === null ? 'n/a' : (100 * r.testError.std).toFixed(2)}`)),
    '',
    `summary: ${path.join(out, 'summary.md')} (also .json, .csv)`,
  ].join('\n');
}

export function registerSweepCommand(program: Command): void {
  program
    .command('sweep')
    .description('run a grid of losses x settings x seeds (each a run folder), then summarise mean ± std over seeds and paired differences against a baseline')
    .option('--pipeline <name|file.js>', `a built-in pipeline (${Object.keys(PIPELINES).join(', ')}) or a module exporting one`, 'fashion-mnist')
    .option('--loss <list>', `losses, comma-separated: ${LOSS_NAMES.join(', ')}`, parseChoiceList(LOSS_NAMES), ['ce', 'ifw', 'focal', 'cb', 'eql', 'cdb'] as LossName[])
    .option('--tau <list>', "CDB's taus, comma-separated (numbers or 'dynamic')", 'dynamic')
    .option('--set <key=v1,v2>', 'vary a setting: a pipeline field (schedule.learningRate=0.01,0.1) or how images are built (dataset.majorityRatio=0.9,0.99, dataset.imbalance=10,100; needs --source); repeatable', (value: string, previous: SetArgument[]) => [...previous, parseSetArgument(value)], [] as SetArgument[])
    .option('--seeds <n|list>', 'seeds: a count (1..n) or a list; each seed chooses the images and the training randomness', '3')
    .option('--epochs <n>', "override the pipeline's epochs", parsePositiveInt)
    .option('--jobs <k>', 'runs side by side, each a process with cores/k threads', parsePositiveInt, 1)
    .option('--baseline <loss>', 'the loss the others are compared with, paired by seed', 'ce')
    .requiredOption('--out <dir>', 'the sweep folder (sweeps/NAME): runs/, data/, summary.{md,json,csv}')
    .option('--source <dir>', 'build each cell\'s images from these public files (as egtea images does), shared by the losses of the cell; mnist-package: the mnist package\'s digits (scaled protocol)')
    .option('--dataset <name>', `with --source: ${IMAGE_DATASETS.join(', ')} (default mnist-imbalanced)`, parseChoice(IMAGE_DATASETS))
    .option('--classes <minority,majority>', 'with --source, mnist-imbalanced: the two source labels (default 4,9)', parseClassPair)
    .option('--data <dir>', "without --source: the data root the pipeline's paths are relative to", 'data')
    .option('--no-run', 'run nothing: summarise the cells finished so far')
    .option('--json', 'print one JSON document (the summary)', false)
    .action(async (o: SweepCommandOptions) => {
      const pipeline = await resolvePipeline(o.pipeline);
      const grid: GridSpec = { losses: o.loss, taus: parseTaus(o.tau), sets: o.set, seeds: parseSeeds(o.seeds), ...(o.epochs !== undefined ? { epochs: o.epochs } : {}) };
      if (!lossVariants(grid.losses, grid.taus).some((v) => v.label === o.baseline)) throw new UserError(`--baseline ${o.baseline}: not among the losses of the grid (${lossVariants(grid.losses, grid.taus).map((v) => v.label).join(', ')})`);
      if (o.source === undefined && (o.dataset !== undefined || o.classes !== undefined)) throw new UserError('--dataset and --classes choose how --source is read; give --source too');
      const source: SweepSource | undefined = o.source === undefined ? undefined : { dataset: o.dataset ?? 'mnist-imbalanced', dir: sourceId(o.source), ...(o.classes ? { classes: o.classes } : {}) };
      const summary = await runSweep({ command: 'sweep', pipelineName: o.pipeline, pipeline, grid, out: o.out, dataRoot: o.data, ...(source ? { source } : {}), jobs: o.jobs, baseline: o.baseline, run: o.run, stopOnSignal: true, progress: true, log });
      emit(o.json, summary, () => sweepText(summary, o.out));
      if (summary.failed.length > 0) throw new UserError(`${summary.failed.length} runs failed: ${summary.failed.map((f) => `${f.cell}: ${f.message}`).join('; ')}`);
    });

  // One cell of a sweep, in a process of its own (the sweep starts it; not for direct use).
  program
    .command('sweep-cell <folder>', { hidden: true })
    .description('train and evaluate one cell of a sweep (started by egtea sweep)')
    .action(async (folder: string) => {
      await runCell(folder, log);
    });
}
