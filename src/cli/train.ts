import path from 'node:path';
import type { Command } from 'commander';
import { resolvedLoss } from '../config/loss-config.js';
import { applyOverrides, type PipelineOverrides } from '../config/overrides.js';
import { PIPELINE_NAMES, resolvePipeline } from '../config/resolve-pipeline.js';
import { selectBackend } from '../engine/backend.js';
import { LOSS_NAMES } from '../losses/create-loss.js';
import { MODEL_INITIALIZERS } from '../train/pipeline.js';
import { train } from '../train/trainer.js';
import { metricsTable } from '../report/metrics-table.js';
import { collect, parseChoice, parseNonNegativeNumber, parsePositiveInt, parseSeed, parseTau } from './options.js';
import { emit, log } from './output.js';

interface TrainCommandOptions extends Omit<PipelineOverrides, 'tau'> {
  pipeline: string;
  data: string;
  out?: string;
  init?: string;
  tau?: string;
  restart: boolean;
  checkpointMinutes: number;
  graphStep: boolean;
  json: boolean;
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a pipeline (dataset, clips, model, loss, schedule); resumes from the last checkpoint in --out')
    .option('--pipeline <name|file>', `a built-in pipeline (${PIPELINE_NAMES.join(', ')}), a module exporting one (.js/.mjs) or a JSON file`, 'synth')
    .option('--data <dir>', "the data root the pipeline's paths are relative to", 'data')
    .option('--out <dir>', 'run folder (default: runs/<pipeline>-<loss>)')
    .option('--init <weights.safetensors>', 'start from these weights (PyTorch names); the head is replaced when the class count differs')
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
    .option('--set <key=value>', 'set any pipeline key, e.g. --set schedule.learningRate=0.01 (repeatable; applied after the options above)', collect, [])
    .option('--restart', 'discard a checkpoint in --out instead of resuming from it', false)
    .option('--checkpoint-minutes <m>', 'minutes between checkpoints inside an epoch (0: after every batch); every epoch ends with one', parseNonNegativeNumber, 10)
    .option('--no-graph-step', 'dispatch every op of a training step on its own instead of running the recorded step as one TensorFlow graph')
    .option('--json', 'print one JSON document (the run summary)', false)
    .action(async (options: TrainCommandOptions) => {
      const { pipeline: name, tau, loss, tauRule, normalize, reduction, minDifficulty, smoothing, initializer, epochs, seed, set } = options;
      const pipeline = applyOverrides(await resolvePipeline(name), {
        loss,
        ...(tau !== undefined ? { tau: parseTau(tau) } : {}),
        tauRule,
        normalize,
        reduction,
        minDifficulty,
        smoothing,
        initializer,
        epochs,
        seed,
        set,
      });
      await selectBackend(program.opts<{ backend?: string }>().backend);
      const out = options.out ?? path.join('runs', `${pipeline.name}-${pipeline.loss.name}`);
      const result = await train({ pipeline, dataRoot: options.data, out, ...(options.init ? { init: options.init } : {}), restart: options.restart, checkpointMinutes: options.checkpointMinutes, graphStep: options.graphStep, log });
      const last = result.epochs.at(-1);
      // The loss with every default filled in: what the run trained with.
      emit(options.json, { ...result, pipeline, loss: resolvedLoss(pipeline.loss) }, () => {
        if (!last) return `nothing to do: ${out} already finished ${pipeline.schedule.epochs} epochs`;
        const { groups } = last.validation;
        return [
          `${pipeline.name}, loss ${pipeline.loss.name}, seed ${pipeline.seed}: ${last.epoch} epochs in ${out}`,
          `validation after epoch ${last.epoch} (%):`,
          metricsTable([
            { name: 'all', metrics: last.validation },
            { name: 'majority', metrics: groups.majority },
            { name: 'minority', metrics: groups.minority },
          ]),
          `weights: ${path.join(out, 'model.safetensors')}; history: ${path.join(out, 'history.jsonl')}`,
        ].join('\n');
      });
    });
}
