import type { Command } from 'commander';
import { compareRuns } from '../eval/compare-runs.js';
import type { EvaluationSplit } from '../eval/evaluate-run.js';
import { comparisonTable } from '../report/comparison-table.js';
import { parseChoice } from './options.js';
import { emit } from './output.js';

export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description(
      'one table of several evaluated runs (e.g. CDB-CE against the baselines): overall and per class group; post-hoc logit-adjusted evaluations (eval --posthoc-la) get lines of their own',
    )
    .argument('<runs...>', 'run folders, each evaluated with egtea eval')
    .option('--split <name>', 'which saved evaluation: test or validation', parseChoice(['test', 'validation'] as const), 'test')
    .option('--json', 'print one JSON document', false)
    .action(async (runs: string[], options: { split: EvaluationSplit; json: boolean }) => {
      const compared = await compareRuns(runs, options.split);
      emit(options.json, { split: options.split, runs: compared }, () => [`${options.split} split (%):`, comparisonTable(compared)].join('\n'));
    });
}
