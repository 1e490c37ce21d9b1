import type { Command } from 'commander';
import { GROUP_NAMES } from '../data/class-groups.js';
import { compareRuns, type ComparedRun } from '../eval/compare-runs.js';
import type { EvaluationSplit } from '../eval/evaluate-run.js';
import { groupLabel, percent as pct } from '../report/metrics-table.js';
import { parseChoice } from './options.js';
import { emit, table } from './output.js';

/** The loss a line shows: cdb with its tau, a post-hoc adjustment with its t. */
function lossLabel(c: ComparedRun): string {
  return `${c.loss}${c.posthocTau === null ? '' : ` + post-hoc LA (t=${c.posthocTau})`}`;
}

/** The groups the lines hold, each stated once (rule and size); a group whose classes differ between lines says so. */
function groupLines(compared: readonly ComparedRun[], groups: readonly string[]): string[] {
  return groups.map((name) => {
    const all = compared.flatMap((c) => (c.groups[name] ? [c.groups[name]!] : []));
    const same = all.every((g) => JSON.stringify(g.classes) === JSON.stringify(all[0]!.classes));
    return `  ${groupLabel(name, all[0]!)}${same ? '' : ': its classes differ between runs (other thresholds or training counts)'}`;
  });
}

export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description('one table of several evaluated runs (e.g. CDB-CE against the baselines): overall and per class group; post-hoc logit-adjusted evaluations (eval --posthoc-la) get lines of their own')
    .argument('<runs...>', 'run folders, each evaluated with egtea eval')
    .option('--split <name>', 'which saved evaluation: test or validation', parseChoice(['test', 'validation'] as const), 'test')
    .option('--json', 'print one JSON document', false)
    .action(async (runs: string[], options: { split: EvaluationSplit; json: boolean }) => {
      const compared = await compareRuns(runs, options.split);
      const groups = GROUP_NAMES.filter((g) => compared.some((c) => c.groups[g] !== undefined));
      emit(options.json, { split: options.split, runs: compared }, () =>
        [
          `${options.split} split (%): top-1, top-5 and macro recall overall; macro recall (R) and precision (P) per class group`,
          'class groups:',
          ...groupLines(compared, groups),
          table(
            ['run', 'loss', 'tau', 'seed', 'top-1', 'top-5', 'macro R', ...groups.flatMap((g) => [`${g} R`, `${g} P`])],
            compared.map((c) => [
              c.run,
              lossLabel(c),
              c.loss === 'cdb' ? String(c.tau) : '-',
              c.seed,
              pct(c.overall.top1),
              pct(c.overall.top5),
              pct(c.overall.macroRecall),
              ...groups.flatMap((g) => [pct(c.groups[g]?.macroRecall), pct(c.groups[g]?.macroPrecision)]),
            ]),
          ),
        ].join('\n'),
      );
    });
}
