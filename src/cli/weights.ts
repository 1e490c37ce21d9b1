import type { Command } from 'commander';
import { cdb } from '../losses/catalog/cdb.js';
import { DifficultyTracker } from '../losses/difficulty-tracker.js';
import type { TauRule, CdbNormalization } from '../losses/cdb-weights.js';
import { readClassResults } from '../metrics/report-file.js';
import { UserError } from '../util/errors.js';
import { writeWeightsPlot } from '../report/weights-plot.js';
import { parseChoice, parseNonNegativeNumber, parseNumberList, parseTau } from './options.js';
import { emit, table } from './output.js';

interface WeightsOptions {
  accuracy?: number[];
  from?: string;
  tau: string;
  tauRule: TauRule;
  normalize: CdbNormalization;
  minDifficulty: number;
  names?: string;
  plot?: string;
  json: boolean;
}

export function registerWeightsCommand(program: Command): void {
  program
    .command('weights')
    .description('CDB class weights from per-class accuracies: tau, difficulty and weight per class')
    .option('--accuracy <list>', 'per-class validation accuracies in [0, 1], comma-separated', parseNumberList)
    .option('--from <report.json>', 'take the per-class accuracies of a saved evaluation report (egtea eval --json)')
    // The defaults are the CDB loss's own (src/losses/catalog/cdb.ts).
    .option('--tau <value>', "a number, or 'dynamic'", String(cdb.settings.tau.default))
    .option(
      '--tau-rule <rule>',
      "dynamic tau: 'paper' (2 / (1 + e^-b)) or 'official' (the authors' code, sigmoid)",
      parseChoice(['paper', 'official'] as const),
      cdb.settings.tauRule.default,
    )
    .option(
      '--normalize <how>',
      "'classes' (sum to the number of classes) or 'none' (d^tau as written)",
      parseChoice(['classes', 'none'] as const),
      cdb.settings.normalize.default,
    )
    .option('--min-difficulty <d>', 'floor on difficulty, so a perfect class keeps some weight', parseNonNegativeNumber, cdb.settings.minDifficulty.default)
    .option('--names <list>', 'class names, comma-separated')
    .option('--plot <file>', 'also draw weight against difficulty for several tau and this one (.svg or .png)')
    .option('--json', 'print one JSON document', false)
    .action(async (options: WeightsOptions) => {
      if ((options.accuracy === undefined) === (options.from === undefined)) throw new UserError('give either --accuracy or --from');
      let accuracy: (number | null)[];
      let names: string[];
      if (options.from !== undefined) {
        const results = await readClassResults(options.from);
        accuracy = results.map((r) => r.accuracy);
        names = results.map((r) => r.name);
      } else {
        accuracy = options.accuracy!;
        names = accuracy.map((_, c) => `class ${c}`);
      }
      if (options.names) {
        const given = options.names.split(',');
        if (given.length !== accuracy.length) throw new UserError(`--names lists ${given.length} names for ${accuracy.length} classes`);
        names = given;
      }
      for (const [c, a] of accuracy.entries()) {
        if (a !== null && !(a >= 0 && a <= 1)) throw new UserError(`accuracy of ${names[c]} is ${a}; accuracies lie in [0, 1]`);
      }
      const tau = parseTau(options.tau);
      const tracker = new DifficultyTracker(accuracy.length, {
        tau,
        tauRule: options.tauRule,
        normalize: options.normalize,
        minDifficulty: options.minDifficulty,
      });
      const update = tracker.update(accuracy, 1);
      tracker.dispose();
      const classes = names.map((name, c) => ({ index: c, name, accuracy: accuracy[c], difficulty: update.difficulty[c], weight: update.weights[c] }));
      const document = {
        tau: update.tau,
        tauMode: tau === 'dynamic' ? `dynamic (${options.tauRule})` : 'fixed',
        normalize: options.normalize,
        classes,
        warnings: update.warnings,
      };
      if (options.plot !== undefined) await writeWeightsPlot(options.plot, update.tau);
      for (const warning of update.warnings) process.stderr.write(`warning: ${warning}\n`);
      const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(4));
      emit(options.json, document, () =>
        [
          `tau = ${update.tau.toFixed(5)} (${document.tauMode}), normalisation: ${options.normalize}`,
          table(
            ['class', 'accuracy', 'difficulty', 'weight'],
            classes.map((c) => [c.name, fmt(c.accuracy), fmt(c.difficulty), fmt(c.weight)]),
          ),
        ].join('\n'),
      );
    });
}
