import path from 'node:path';
import type { Command } from 'commander';
import { PIPELINES } from '../../pipelines/index.js';
import { parseClassPair, type ClassPair } from '../data/images/class-pair.js';
import { IMAGE_DATASETS, sourceId, type ImageDataset } from '../data/images/import-images.js';
import { LOSS_NAMES, type LossName } from '../losses/registry.js';
import { chooseBaseline, lossVariants, type GridSpec } from '../sweep/grid.js';
import { runPackedCells } from '../pack/run-pack.js';
import { ORDERS_WRITTEN, runCell } from '../sweep/run-cell.js';
import { parseSetArgument, type SetArgument } from '../sweep/set-argument.js';
import { gridTable, type SweepSummary } from '../sweep/summary.js';
import { resolveShard } from '../sweep/shard.js';
import type { SweepSource } from '../sweep/source.js';
import { runSweep } from '../sweep/sweep.js';
import { UserError } from '../util/errors.js';
import { parseChoice, parseChoiceList, parseNonNegativeNumber, parsePositiveInt, parseTau } from './options.js';
import { resolvePipeline } from './resolve-pipeline.js';
import { emit, log } from './output.js';

interface SweepCommandOptions {
  pipeline: string;
  loss: LossName[];
  tau: string;
  set: SetArgument[];
  seeds: string;
  epochs?: number;
  posthocLa?: number;
  jobs: number;
  pack: number;
  baseline?: string;
  out: string;
  data: string;
  source?: string;
  dataset?: ImageDataset;
  classes?: ClassPair;
  run: boolean;
  json: boolean;
  shard?: string;
  shardCount?: number;
}

/** `--seeds 3` is seeds 1 to 3; `--seeds 4,7` those seeds. */
export function parseSeeds(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const numbers = parts.map(Number);
  if (parts.some((p) => p === '') || !numbers.every((n) => Number.isInteger(n) && n > 0))
    throw new UserError(`--seeds: expected a count (3) or a list of positive seeds (1,2,5), got '${value}'`);
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
    gridTable(summary, 'final', (r) =>
      r.testError.mean === null ? 'n/a' : `${(100 * r.testError.mean).toFixed(2)} ± ${r.testError.std === null ? 'n/a' : (100 * r.testError.std).toFixed(2)}`,
    ),
    '',
    'Test error (%), best-validation model:',
    gridTable(summary, 'best', (r) =>
      r.testError.mean === null ? 'n/a' : `${(100 * r.testError.mean).toFixed(2)} ± ${r.testError.std === null ? 'n/a' : (100 * r.testError.std).toFixed(2)}`,
    ),
    '',
    ...(summary.missing.length > 0 ? [`not finished: ${summary.missing.length} cells (listed in summary.md)`] : []),
    ...(summary.damaged ?? []).map((d) => `damaged: ${d}`),
    `summary: ${path.join(out, 'summary.md')} (also .json, .csv)`,
  ].join('\n');
}

export function registerSweepCommand(program: Command): void {
  program
    .command('sweep')
    .description('run a grid of losses x settings x seeds (each a run folder), then summarise mean ± std over seeds and paired differences against a baseline')
    .option('--pipeline <name|file.js>', `a built-in pipeline (${Object.keys(PIPELINES).join(', ')}) or a module exporting one`, 'fashion-mnist')
    .option('--loss <list>', `losses, comma-separated: ${LOSS_NAMES.join(', ')}`, parseChoiceList(LOSS_NAMES), [
      'ce',
      'ifw',
      'focal',
      'cb',
      'eql',
      'cdb',
    ] as LossName[])
    .option('--tau <list>', "CDB's taus, comma-separated (numbers or 'dynamic')", 'dynamic')
    .option(
      '--set <key=v1,v2>',
      'vary a setting: a pipeline field (schedule.learningRate=0.01,0.1) or how images are built (dataset.majorityRatio=0.9,0.99, dataset.imbalance=10,100; needs --source); repeatable',
      (value: string, previous: SetArgument[]) => [...previous, parseSetArgument(value)],
      [] as SetArgument[],
    )
    .option('--seeds <n|list>', 'seeds: a count (1..n) or a list; each seed chooses the images and the training randomness', '3')
    .option(
      '--epochs <n>',
      "override the pipeline's epochs; its learning-rate milestones move to the same fractions (unless --set schedule.milestones gives them)",
      parsePositiveInt,
    )
    .option(
      '--posthoc-la <t>',
      'also evaluate the ce runs with post-hoc logit adjustment (logits - t log prior), a loss line of its own: ce+posthoc-la(t=T)',
      parseNonNegativeNumber,
    )
    .option('--jobs <k>', 'runs side by side, each a process with cores/k threads', parsePositiveInt, 1)
    .option(
      '--pack <k>',
      'train up to k cells that share a model, input and schedule in one process, as one TensorFlow graph (each keeps its own images, seed, loss and run folder); for small models such as LeNet-5',
      parsePositiveInt,
      1,
    )
    .option('--baseline <loss>', 'the loss the others are compared with, paired by seed (default ce, or the first loss when ce is not in the grid)')
    .requiredOption('--out <dir>', 'the sweep folder (sweeps/NAME): runs/, data/, summary.{md,json,csv}')
    .option(
      '--source <dir>',
      "build each cell's images from these public files (as egtea images does), shared by the losses of the cell; mnist-package: the mnist package's digits (scaled protocol)",
    )
    .option('--dataset <name>', `with --source: ${IMAGE_DATASETS.join(', ')} (default mnist-imbalanced)`, parseChoice(IMAGE_DATASETS))
    .option('--classes <minority,majority>', 'with --source, mnist-imbalanced: the two source labels (default 4,9)', parseClassPair)
    .option('--data <dir>', "without --source: the data root the pipeline's paths are relative to", 'data')
    .option('--no-run', 'run nothing: summarise the cells finished so far (by every shard)')
    .option('--json', 'print one JSON document (the summary)', false)
    .option(
      '--shard <i/n>',
      'run only every n-th cell of the grid, from the i-th (1-based), into the shared --out; without it, a Slurm array task or (with --shard-count) a Kubernetes Indexed Job picks its shard (docs/sweeps.md)',
    )
    .option(
      '--shard-count <n>',
      "the number of shards when the index comes from the scheduler: JOB_COMPLETION_INDEX (Kubernetes; n = the Job's completions) or SLURM_ARRAY_TASK_ID",
      parsePositiveInt,
    )
    .action(async (o: SweepCommandOptions) => {
      const pipeline = await resolvePipeline(o.pipeline);
      const grid: GridSpec = {
        losses: o.loss,
        taus: parseTaus(o.tau),
        sets: o.set,
        seeds: parseSeeds(o.seeds),
        ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
        ...(o.posthocLa !== undefined ? { posthocTau: o.posthocLa } : {}),
      };
      const baseline = chooseBaseline(lossVariants(grid.losses, grid.taus), o.baseline);
      if (o.source === undefined && (o.dataset !== undefined || o.classes !== undefined))
        throw new UserError('--dataset and --classes choose how --source is read; give --source too');
      const source: SweepSource | undefined =
        o.source === undefined
          ? undefined
          : { dataset: o.dataset ?? 'mnist-imbalanced', dir: sourceId(o.source), ...(o.classes ? { classes: o.classes } : {}) };
      const shard = resolveShard(o);
      const summary = await runSweep({
        command: 'sweep',
        pipelineName: o.pipeline,
        pipeline,
        grid,
        out: o.out,
        dataRoot: o.data,
        ...(source ? { source } : {}),
        jobs: o.jobs,
        pack: o.pack,
        baseline,
        run: o.run,
        stopOnSignal: true,
        progress: true,
        log,
        shard,
      });
      emit(o.json, summary, () => sweepText(summary, o.out));
      if (summary.failed.length > 0)
        throw new UserError(`${summary.failed.length} runs failed: ${summary.failed.map((f) => `${f.cell}: ${f.message}`).join('; ')}`);
    });

  // One cell of a sweep, in a process of its own (the sweep starts it; not for direct use).
  program
    .command('sweep-cell <folder>', { hidden: true })
    .description('train and evaluate one cell of a sweep (started by egtea sweep)')
    .action(async (folder: string) => {
      await followSweep();
      await runCell(folder, log);
    });

  // Cells of a sweep trained as one pack, in a process of their own (the sweep starts it with --pack; not for direct use).
  program
    .command('sweep-pack <folders...>', { hidden: true })
    .description('train and evaluate several cells of a sweep in lockstep as one graph (started by egtea sweep --pack)')
    .action(async (folders: string[]) => {
      await followSweep();
      const ends = await runPackedCells(folders, log);
      const failed = ends.filter((e) => e.error !== null);
      if (failed.length > 0)
        throw new UserError(`${failed.length} of ${ends.length} packed runs failed: ${failed.map((f) => `${path.basename(f.folder)}: ${f.error}`).join('; ')}`);
    });
}

/**
 * In a process a sweep started (sweep-cell, sweep-pack): stop (as on SIGTERM) when the sweep's
 * process is gone, so a rerun never meets an orphan still training; and wait until the sweep has
 * written the cells' orders (it builds their images meanwhile, while this process loads TensorFlow).
 */
async function followSweep(): Promise<void> {
  const channel = process.channel;
  if (!channel) return;
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  await new Promise<void>((resolve) => {
    const onMessage = (message: unknown) => {
      if (message !== ORDERS_WRITTEN) return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
  });
  // From here the channel only tells of the sweep's end: it must not keep this process alive.
  channel.unref();
}
