import type { Command } from 'commander';
import type { PipelineOverrides } from '../config/overrides.js';
import { PIPELINE_NAMES } from './resolve-pipeline.js';
import { LOSS_NAMES } from '../losses/create-loss.js';
import { MODEL_INITIALIZERS } from '../config/pipeline.js';
import { collect, parseChoice, parseNonNegativeNumber, parsePositiveInt, parseSeed, parseTau } from './options.js';

/** What the pipeline options below give a command's action. */
export interface PipelineCommandOptions extends Omit<PipelineOverrides, 'tau'> {
  pipeline: string;
  tau?: string;
}

/** The options every command that runs a pipeline takes: which pipeline, and what to change in it. */
export function addPipelineOptions(command: Command): Command {
  return command
    .option('--pipeline <name|file>', `a built-in pipeline (${PIPELINE_NAMES.join(', ')}), a module exporting one (.js/.mjs) or a JSON file`, 'synth')
    .option('--epochs <n>', "override the pipeline's epochs", parsePositiveInt)
    .option('--loss <name>', `override the pipeline's loss: ${LOSS_NAMES.join(', ')} (its settings stay when the new loss takes them)`, parseChoice(LOSS_NAMES))
    .option('--tau <value>', "CDB's tau: a number >= 0, or 'dynamic'")
    .option('--tau-rule <rule>', "CDB's dynamic tau: 'paper' (2 / (1 + e^-b)) or 'official' (the authors' code, sigmoid)", parseChoice(['paper', 'official'] as const))
    .option('--normalize <how>', "CDB's weights: 'classes' (sum to the number of classes) or 'none' (d^tau as written)", parseChoice(['classes', 'none'] as const))
    .option('--reduction <how>', "a weighted loss's batch reduction: 'mean' or 'weighted' (sum w CE / sum w)", parseChoice(['mean', 'weighted'] as const))
    .option('--min-difficulty <d>', "CDB's floor on difficulty in [0, 1], so a perfect class keeps some weight", parseNonNegativeNumber)
    .option('--smoothing <s>', "CDB's moving average of difficulty over epochs, in [0, 1) (0: none, as the paper)", parseNonNegativeNumber)
    .option('--initializer <how>', `how the model's weights start: ${MODEL_INITIALIZERS.join(', ')}`, parseChoice(MODEL_INITIALIZERS))
    .option('--seed <n>', "override the pipeline's seed (a whole number >= 0)", parseSeed)
    .option('--set <key=value>', 'set any pipeline key, e.g. --set schedule.learningRate=0.01 (repeatable; applied after the options above; `egtea pipeline --keys` lists them)', collect, []);
}

/** The overrides a command line gave (see addPipelineOptions). */
export function overridesFrom(options: PipelineCommandOptions): PipelineOverrides {
  const { tau, loss, tauRule, normalize, reduction, minDifficulty, smoothing, initializer, epochs, seed, set } = options;
  return { loss, ...(tau !== undefined ? { tau: parseTau(tau) } : {}), tauRule, normalize, reduction, minDifficulty, smoothing, initializer, epochs, seed, set };
}
