import path from 'node:path';
import type { Command } from 'commander';
import { parseClassPair, type ClassPair } from '../data/images/class-pair.js';
import { sourceId } from '../data/images/import-images.js';
import { MNIST_PACKAGE_SIZES, MNIST_PACKAGE_SOURCE } from '../data/images/mnist-package.js';
import { PAPER_RATIOS, PAPER_TABLES, paperTableMarkdown } from '../sweep/paper-tables.js';
import { parseSetArgument } from '../sweep/set-argument.js';
import { resolveShard } from '../sweep/shard.js';
import { runSweep } from '../sweep/sweep.js';
import type { ModelKind } from '../sweep/summary.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { parseNumberList, parsePositiveInt } from './options.js';
import { emit, log } from './output.js';
import { parseSeeds } from './sweep.js';
import { resolvePipeline } from './resolve-pipeline.js';

interface PaperOptions {
  source: string;
  classes?: ClassPair;
  pipeline: string;
  seeds: string;
  epochs?: number;
  ratios: number[];
  jobs: number;
  out?: string;
  run: boolean;
  json: boolean;
  shard?: string;
  shardCount?: number;
}

export function registerPaperCommand(program: Command): void {
  program
    .command('paper <table>')
    .description(
      "the paper's imbalanced-MNIST grids as a sweep: table1 (CE, IFW, focal, CB, EQL, CDB by majority ratio) or table2 (CDB by tau), with the paper's numbers beside ours",
    )
    .requiredOption('--source <dir>', "MNIST's (or Fashion-MNIST's) four IDX files, or mnist-package (the mnist package's digits, a scaled protocol)")
    .option('--classes <minority,majority>', 'the two source labels (default 4,9 as the paper; Fashion-MNIST coat vs pullover: 4,2)', parseClassPair)
    .option('--pipeline <name|file.js>', 'mnist-imbalanced (the paper) or fashion-mnist (its own statistics, He-normal LeNet-5)', 'mnist-imbalanced')
    .option('--seeds <n|list>', 'seeds (the paper: 10 random splits)', '10')
    .option(
      '--epochs <n>',
      'epochs per run (the paper: 4000 = 200000 iterations, lr x0.1 after 3000; --epochs 40 is 2000 iterations, lr x0.1 after 30)',
      parsePositiveInt,
    )
    .option('--ratios <list>', 'majority ratios', parseNumberList, [...PAPER_RATIOS])
    .option('--jobs <k>', 'runs side by side', parsePositiveInt, 1)
    .option('--out <dir>', 'the sweep folder (default sweeps/<table>-<pipeline>-<classes>)')
    .option('--no-run', 'run nothing: lay out the runs finished so far')
    .option('--json', 'print one JSON document', false)
    .option('--shard <i/n>', 'run only every n-th run of the table, from the i-th (1-based), into the shared --out (see egtea sweep --shard)')
    .option('--shard-count <n>', 'the number of shards when the index comes from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID', parsePositiveInt)
    .action(async (tableName: string, o: PaperOptions) => {
      if (tableName !== 'table1' && tableName !== 'table2')
        throw new UserError(`egtea paper ${tableName}: no such table; choose table1 (losses by majority ratio) or table2 (CDB by tau)`);
      const id = tableName;
      const table = PAPER_TABLES[id];
      const pipeline = await resolvePipeline(o.pipeline);
      const seeds = parseSeeds(o.seeds);
      const epochs = o.epochs ?? pipeline.schedule.epochs;
      const classes = o.classes ?? { minority: 4, majority: 9 };
      const out = o.out ?? path.join('sweeps', `${id}-${pipeline.name}-${classes.minority}v${classes.majority}`);
      const runs = table.losses.length * (table.id === 'table2' ? table.taus.length : 1) * o.ratios.length * seeds.length;
      const trainingImages = o.source === MNIST_PACKAGE_SOURCE ? MNIST_PACKAGE_SIZES.trainingImages : 5000;
      const perEpoch = Math.ceil(trainingImages / pipeline.schedule.batchSize);
      log(`${table.title}: ${runs} runs of ${epochs} epochs (${epochs * perEpoch} iterations each, ${runs * epochs * perEpoch} in all).`);
      if (epochs >= 1000)
        log(
          `The paper's schedule is 4000 epochs a run: on a CPU that is hours per run. --epochs 40 (2000 iterations) is the short schedule; docs/paper.md gives measured times.`,
        );
      const summary = await runSweep({
        command: `paper ${id}`,
        pipelineName: o.pipeline,
        pipeline,
        grid: { losses: table.losses, taus: table.taus, sets: [parseSetArgument(`dataset.majorityRatio=${o.ratios.join(',')}`)], seeds, epochs },
        out,
        dataRoot: 'data',
        source: { dataset: 'mnist-imbalanced', dir: sourceId(o.source), classes },
        jobs: o.jobs,
        baseline: table.id === 'table1' ? 'ce' : 'cdb(tau=dynamic)',
        run: o.run,
        stopOnSignal: true,
        progress: true,
        log,
        shard: resolveShard(o),
      });
      const layout = (model: ModelKind) =>
        paperTableMarkdown(table, o.ratios, (variant, ratio) => {
          const row = summary.rows.find((r) => r.variant === variant && r.model === model && r.setting === `dataset.majorityRatio=${ratio}`);
          return row ? row.testError : null;
        });
      const text = [
        `# ${table.title}`,
        '',
        ...summary.protocol.map((l) => `- ${l}`),
        `- Paper: MNIST 4 vs 9, 4000 epochs (lr x0.1 after 3000), 10 runs. Ours: mean ± std (seeds finished).`,
        '',
        '## Final model (as the paper reports)',
        '',
        layout('final'),
        '',
        '## Best-validation model',
        '',
        layout('best'),
        '',
      ].join('\n');
      await writeFileAtomic(path.join(out, 'paper-table.md'), text);
      emit(o.json, { table: id, out, summary }, () => `${text}\nsaved: ${path.join(out, 'paper-table.md')}; summary: ${path.join(out, 'summary.md')}`);
      if (summary.failed.length > 0)
        throw new UserError(`${summary.failed.length} runs failed: ${summary.failed.map((f) => `${f.cell}: ${f.message}`).join('; ')}`);
    });
}
