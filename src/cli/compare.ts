import type { Command } from 'commander';
import { compareRuns } from '../eval/compare-runs.js';
import type { EvaluationSplit } from '../eval/evaluate-run.js';
import { percent as pct } from '../metrics/metrics-table.js';
import { parseChoice } from './options.js';
import { emit, table } from './output.js';

export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description('one table of several evaluated runs (e.g. CDB-CE against the baselines): overall and per class group')
    .argument('<runs...>', 'run folders, each evaluated with egtea eval')
    .option('--split <name>', 'which saved evaluation: test or validation', parseChoice(['test', 'validation'] as const), 'test')
    .option('--json', 'print one JSON document', false)
    .action(async (runs: string[], options: { split: EvaluationSplit; json: boolean }) => {
      const compared = await compareRuns(runs, options.split);
      emit(options.json, { split: options.split, runs: compared }, () =>
        [
          `${options.split} split (%): top-1, top-5 and macro recall overall; macro recall and precision per class group`,
          table(
            ['run', 'loss', 'tau', 'seed', 'top-1', 'top-5', 'macro R', 'majority R', 'majority P', 'minority R', 'minority P'],
            compared.map((c) => [
              c.run,
              c.loss,
              c.loss === 'cdb' ? String(c.tau) : '-',
              c.seed,
              pct(c.overall.top1),
              pct(c.overall.top5),
              pct(c.overall.macroRecall),
              pct(c.groups.majority?.macroRecall),
              pct(c.groups.majority?.macroPrecision),
              pct(c.groups.minority?.macroRecall),
              pct(c.groups.minority?.macroPrecision),
            ]),
          ),
        ].join('\n'),
      );
    });
}
