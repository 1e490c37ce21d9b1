import { InvalidArgumentError, type Command } from 'commander';
import { checkShotThresholds, SHOT_THRESHOLDS, type ShotThresholds } from '../data/class-groups.js';
import { evaluateRun, GROUP_NAMES, type EvaluationSplit, type GroupName } from '../eval/evaluate-run.js';
import { UserError } from '../util/errors.js';
import { parseChoice, parseNonNegativeNumber } from './options.js';
import { groupedMetricsTable } from '../metrics/metrics-table.js';
import { PhasedProgress } from '../util/progress.js';
import { emit } from './output.js';

interface EvalOptions {
  run: string;
  split: EvaluationSplit;
  groups: string;
  thresholds: ShotThresholds;
  posthocLa?: number;
  weights?: string;
  data?: string;
  json: boolean;
}

/** `--thresholds 100,20`: many-shot above the first, few-shot below the second. */
function parseThresholds(value: string): ShotThresholds {
  const parts = value.split(',').map((v) => Number(v.trim()));
  const thresholds = { many: parts[0]!, few: parts[1]! };
  try {
    if (parts.length !== 2) throw new Error('');
    checkShotThresholds(thresholds);
  } catch {
    throw new InvalidArgumentError(
      `'${value}': give MANY,FEW as whole numbers with FEW <= MANY + 1, e.g. 100,20 (many-shot: more than MANY training samples; few-shot: fewer than FEW)`,
    );
  }
  return thresholds;
}

function parseGroups(value: string): GroupName[] {
  const names = value
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
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
    .option(
      '--groups <list>',
      `class groups to report, comma-separated: ${GROUP_NAMES.join(', ')} (many: more than ${SHOT_THRESHOLDS.many} training samples, few: fewer than ${SHOT_THRESHOLDS.few}, medium: between; --thresholds changes them)`,
      GROUP_NAMES.join(','),
    )
    .option('--thresholds <many,few>', 'the many/medium/few groups by training samples: many-shot > MANY, few-shot < FEW', parseThresholds, SHOT_THRESHOLDS)
    .option(
      '--posthoc-la <t>',
      "post-hoc logit adjustment: subtract t log prior (the run's training counts) from the logits, t >= 0 (for a model trained with plain CE; t = 1 is Menon et al.'s); saved as eval-<split>.posthoc-la<t>.json beside the plain evaluation",
      parseNonNegativeNumber,
    )
    .option(
      '--weights <file>',
      "weights to evaluate (default: <run>/model.safetensors); other weights are saved as eval-<split>.<digest>.json, never as the run's own",
    )
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
          thresholds: options.thresholds,
          ...(options.posthocLa !== undefined ? { posthocTau: options.posthocLa } : {}),
          ...(options.weights ? { weights: options.weights } : {}),
          ...(options.data ? { dataRoot: options.data } : {}),
          log: (line) => progress.log(line),
          onBatch: (batch, batches, clips) => progress.step(`eval ${options.split}`, batch, batches, clips),
        });
      } finally {
        progress.finish();
      }
      emit(options.json, evaluation, () =>
        [
          `${options.run}, ${options.split} split, ${evaluation.clips} clips, seed ${evaluation.seed}${evaluation.posthoc ? `, post-hoc logit adjustment t = ${evaluation.posthoc.tau} (logits - t log prior)` : ''} (%):`,
          groupedMetricsTable(evaluation),
          `saved: ${evaluation.file}`,
        ].join('\n'),
      );
    });
}
