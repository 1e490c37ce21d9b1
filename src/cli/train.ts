import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { PIPELINES } from '../../pipelines/index.js';
import { selectBackend } from '../engine/backend.js';
import { LOSS_NAMES, type LossName } from '../losses/create-loss.js';
import { validatePipeline, type Pipeline } from '../train/pipeline.js';
import { train } from '../train/trainer.js';
import { UserError } from '../util/errors.js';
import { metricsTable } from '../report/metrics-table.js';
import { parseChoice, parseNonNegativeNumber, parsePositiveInt, parseTau } from './options.js';
import { emit, log } from './output.js';

interface TrainCommandOptions {
  pipeline: string;
  data: string;
  out?: string;
  init?: string;
  epochs?: number;
  loss?: LossName;
  tau?: string;
  seed?: number;
  restart: boolean;
  checkpointMinutes: number;
  graphStep: boolean;
  json: boolean;
}

/** A built-in pipeline by name, or a module file whose default export is a pipeline. */
export async function resolvePipeline(name: string): Promise<Pipeline> {
  const builtIn = PIPELINES[name];
  if (builtIn) return builtIn;
  if (!/[./\\]/.test(name)) throw new UserError(`unknown pipeline '${name}'; built in: ${Object.keys(PIPELINES).join(', ')}, or give a .js file`);
  let module: { default?: Pipeline };
  try {
    module = (await import(pathToFileURL(path.resolve(name)).href)) as { default?: Pipeline };
  } catch (error) {
    throw new UserError(`${name}: cannot load the pipeline (${(error as Error).message})`);
  }
  if (!module.default) throw new UserError(`${name}: no default export; export the pipeline object as default`);
  return validatePipeline(module.default, name);
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a pipeline (dataset, clips, model, loss, schedule); resumes from the last checkpoint in --out')
    .option('--pipeline <name|file.js>', `a built-in pipeline (${Object.keys(PIPELINES).join(', ')}) or a module exporting one`, 'synth')
    .option('--data <dir>', "the data root the pipeline's paths are relative to", 'data')
    .option('--out <dir>', 'run folder (default: runs/<pipeline>-<loss>)')
    .option('--init <weights>', 'start from these weights (safetensors, or a PyTorch .pth), PyTorch names; the head is replaced when the class count differs')
    .option('--epochs <n>', "override the pipeline's epochs", parsePositiveInt)
    .option('--loss <name>', `override the pipeline's loss: ${LOSS_NAMES.join(', ')}`, parseChoice(LOSS_NAMES))
    .option('--tau <value>', "override CDB's tau: a number, or 'dynamic'")
    .option('--seed <n>', "override the pipeline's seed", parsePositiveInt)
    .option('--restart', 'discard a checkpoint in --out instead of resuming from it', false)
    .option('--checkpoint-minutes <m>', 'minutes between checkpoints inside an epoch (0: after every batch); every epoch ends with one', parseNonNegativeNumber, 10)
    .option('--no-graph-step', 'dispatch every op of a training step on its own instead of running the recorded step as one TensorFlow graph')
    .option('--json', 'print one JSON document (the run summary)', false)
    .action(async (options: TrainCommandOptions) => {
      await selectBackend(program.opts<{ backend?: string }>().backend);
      const base = await resolvePipeline(options.pipeline);
      const pipeline = validatePipeline(
        {
          ...base,
          loss: { name: options.loss ?? base.loss.name, tau: options.tau !== undefined ? parseTau(options.tau) : base.loss.tau },
          schedule: { ...base.schedule, epochs: options.epochs ?? base.schedule.epochs },
          seed: options.seed ?? base.seed,
        },
        'command-line overrides',
      );
      const out = options.out ?? path.join('runs', `${pipeline.name}-${pipeline.loss.name}`);
      const result = await train({ pipeline, dataRoot: options.data, out, ...(options.init ? { init: options.init } : {}), restart: options.restart, checkpointMinutes: options.checkpointMinutes, graphStep: options.graphStep, log });
      const last = result.epochs.at(-1);
      emit(options.json, { ...result, pipeline }, () => {
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
