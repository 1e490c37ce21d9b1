import { InvalidArgumentError, type Command } from 'commander';
import { lossOptionHelp, lossSettingOptions } from '../config/loss-config.js';
import { OVERRIDE_KEYS, type PipelineOverrides } from '../config/overrides.js';
import type { AnyLossSettings } from '../losses/registry.js';
import { PIPELINE_NAMES } from './resolve-pipeline.js';
import { LOSS_NAMES } from '../losses/registry.js';
import { MODEL_INITIALIZERS } from '../config/pipeline.js';
import { collect, parseChoice, parseNonNegativeNumber, parsePositiveInt, parseSeed } from './options.js';

/** What the pipeline options below give a command's action. */
export interface PipelineCommandOptions extends Omit<PipelineOverrides, keyof AnyLossSettings> {
  pipeline: string;
}

/** The options every command that runs a pipeline takes: which pipeline, and what to change in it; each loss setting's option comes from the loss registry. */
export function addPipelineOptions(command: Command): Command {
  command
    .option('--pipeline <name|file>', `a built-in pipeline (${PIPELINE_NAMES.join(', ')}), a module exporting one (.js/.mjs) or a JSON file`, 'synth')
    .option(
      '--epochs <n>',
      "override the pipeline's epochs; its learning-rate milestones move to the same fractions (unless --set schedule.milestones gives them)",
      parsePositiveInt,
    )
    .option(
      '--loss <name>',
      `override the pipeline's loss: ${LOSS_NAMES.join(', ')} (its settings stay when the new loss takes them)`,
      parseChoice(LOSS_NAMES),
    );
  // Checked here as the pipeline key's type, kept as text (commander turns a parsed null into ''): overridesFrom reads it.
  for (const option of lossSettingOptions()) {
    command.option(`${option.flag} <value>`, lossOptionHelp(option), (text: string) => {
      const problem = option.leaf.check(option.leaf.read(text));
      if (problem !== null) throw new InvalidArgumentError(`'${text}' ${problem}`);
      return text;
    });
  }
  return command
    .option(
      '--class-sampling <q>',
      'loader.classSampling: draw each class with probability proportional to n_c^q (0 class-balanced, 0.5 square-root, 1 instance-balanced)',
      parseNonNegativeNumber,
    )
    .option('--initializer <how>', `how the model's weights start: ${MODEL_INITIALIZERS.join(', ')}`, parseChoice(MODEL_INITIALIZERS))
    .option('--seed <n>', "override the pipeline's seed (a whole number >= 0)", parseSeed)
    .option(
      '--set <key=value>',
      'set any pipeline key, e.g. --set schedule.learningRate=0.01 (repeatable; applied after the options above; `egtea pipeline --keys` lists them)',
      collect,
      [],
    );
}

/** The overrides a command line gave (see addPipelineOptions). */
export function overridesFrom(options: PipelineCommandOptions): PipelineOverrides {
  const given = options as unknown as Record<string, unknown>;
  const overrides: Record<string, unknown> = Object.fromEntries(
    Object.keys(OVERRIDE_KEYS).flatMap((key) => (given[key] === undefined ? [] : [[key, given[key]]])),
  );
  // A loss setting's text is read as its pipeline key's type (checked with the whole pipeline, naming the option).
  for (const option of lossSettingOptions()) if (typeof given[option.key] === 'string') overrides[option.key] = option.leaf.read(given[option.key] as string);
  return { ...overrides, set: options.set } as PipelineOverrides;
}
