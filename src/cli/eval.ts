import type { Command } from 'commander';
import { evaluateRun, GROUP_NAMES, type EvaluationSplit, type GroupName } from '../eval/evaluate-run.js';
import { UserError } from '../util/errors.js';
import { parseChoice } from './options.js';
import { groupedMetricsTable } from '../metrics/metrics-table.js';
import { PhasedProgress } from '../util/progress.js';
import { emit } from './output.js';

interface EvalOptions {
  run: string;
  split: EvaluationSplit;
  groups: string;
  weights?: string;
  data?: string;
  json: boolean;
}

function parseGroups(value: string): GroupName[] {
  const names = value.split(',').map((g) => g.trim()).filter((g) => g !== '');
  if (names.length === 0) throw new UserError(`--groups: no class group given; choose from ${GROUP_NAMES.join(', ')} (comma-separated)`);
  for (const name of names) {
    if (!(GROUP_NAMES as readonly string[]).includes(name)) throw new UserError(`--groups: unknown group '${name}'; choose from ${GROUP_NAMES.join(', ')}`);
  }
  return [...new Set(names)] as GroupName[];
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('evaluate a trained run on its test split: top-1/top-5 and macro recall/precision, overall and per class group')
    .requiredOption('--run <dir>', 'a run folder written by egtea train')
    .option('--split <name>', 'test or validation', parseChoice(['test', 'validation'] as const), 'test')
    .option('--groups <list>', `class groups to report, comma-separated: ${GROUP_NAMES.join(', ')}`, GROUP_NAMES.join(','))
    .option('--weights <file>', 'weights to evaluate (default: <run>/model.safetensors); other weights are saved as eval-<split>.<digest>.json, never as the run\'s own')
    .option('--data <dir>', 'the data root (default: the one the run was trained on)')
    .option('--json', 'print one JSON document', false)
    .action(async (options: EvalOptions) => {
      const groups = parseGroups(options.groups);
      // The bar (or a line at every tenth) opens with the first batch, when the count is known.
      const progress = new PhasedProgress('clips');
      let evaluation;
      try {
        evaluation = await evaluateRun({
          run: options.run,
          split: options.split,
          groups,
          ...(options.weights ? { weights: options.weights } : {}),
          ...(options.data ? { dataRoot: options.data } : {}),
          log: (line) => progress.log(line),
          onBatch: (batch, batches, clips) => progress.step(`eval ${options.split}`, batch, batches, clips),
        });
      } finally {
        progress.finish();
      }
      emit(options.json, evaluation, () =>
        [`${options.run}, ${options.split} split, ${evaluation.clips} clips, seed ${evaluation.seed} (%):`, groupedMetricsTable(evaluation), `saved: ${evaluation.file}`].join('\n'),
      );
    });
}
