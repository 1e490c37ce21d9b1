import path from 'node:path';
import type { Command } from 'commander';
import { resolvedLoss } from '../config/loss-config.js';
import { applyOverridesWithScaling } from '../config/overrides.js';
import { PIPELINE_NAMES, resolvePipeline } from './resolve-pipeline.js';
import { checkTask, readClusterFile } from '../distributed/cluster.js';
import { enableCollectives } from '../distributed/collectives.js';
import { DataParallelWorker, workerAccumulation } from '../distributed/data-parallel.js';
import { launchWorkers } from '../distributed/launcher.js';
import { UserError } from '../util/errors.js';
import { RunFolder } from '../run/run-folder.js';
import { train } from '../train/trainer.js';
import { metricsTable } from '../metrics/metrics-table.js';
import { PhasedProgress } from '../util/progress.js';
import { parseNonNegativeNumber, parsePositiveInt } from './options.js';
import { addPipelineOptions, overridesFrom, type PipelineCommandOptions } from './pipeline-options.js';
import { emit, log } from './output.js';

interface TrainCommandOptions extends PipelineCommandOptions {
  data: string;
  out?: string;
  init?: string;
  restart: boolean;
  rewriteRunJson: boolean;
  checkpointMinutes: number;
  graphStep: boolean;
  json: boolean;
  workers?: number;
  cluster?: string;
  task?: number;
  collectiveTimeout: number;
}

/** The command line without --workers (each worker runs it with --cluster and --task instead). */
function withoutWorkersOption(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--workers') i += 1;
    else if (!args[i]!.startsWith('--workers=')) kept.push(args[i]!);
  }
  return kept;
}

export function registerTrainCommand(program: Command): void {
  const command = program.command('train').description('train a pipeline (dataset, clips, model, loss, schedule); resumes from the last checkpoint in --out');
  addPipelineOptions(command)
    .option('--data <dir>', "the data root the pipeline's paths are relative to", 'data')
    .option('--out <dir>', 'run folder (default: runs/<pipeline>-<loss>)')
    .option('--init <weights>', 'start from these weights (safetensors, or a PyTorch .pth), PyTorch names; the head is replaced when the class count differs')
    .option('--restart', 'discard a checkpoint in --out instead of resuming from it', false)
    .option(
      '--rewrite-run-json',
      "when --out's run.json is missing or damaged, write it anew from this pipeline and data and resume, keeping the checkpoint, history and evaluations",
      false,
    )
    .option(
      '--checkpoint-minutes <m>',
      'minutes between checkpoints inside an epoch (0: after every batch); every epoch ends with one',
      parseNonNegativeNumber,
      10,
    )
    .option('--no-graph-step', 'dispatch every op of a training step on its own instead of running the recorded step as one TensorFlow graph')
    .option('--json', 'print one JSON document (the run summary)', false)
    .option(
      '--workers <n>',
      'data-parallel training in n processes on this machine (one per GPU, or n CPU processes), launched and supervised by egtea',
      parsePositiveInt,
    )
    .option('--cluster <file>', 'data-parallel training on several machines: {"workers": ["host:port", ...]}, the same file on each; with --task')
    .option('--task <k>', "this process's index in the --cluster file's workers (0: the chief, which writes the run folder)", parseNonNegativeNumber)
    .option('--collective-timeout <s>', 'seconds a data-parallel worker waits for the others in a collective before it stops', parseNonNegativeNumber, 600)
    .action(async (options: TrainCommandOptions) => {
      const { pipeline, scaling: scheduleScaling } = applyOverridesWithScaling(await resolvePipeline(options.pipeline), overridesFrom(options));
      if (options.workers !== undefined && options.workers > 1) {
        if (options.cluster !== undefined)
          throw new UserError('--workers launches workers on this machine and --cluster joins a cluster started elsewhere: pass one of them');
        await launchWorkers({ workers: options.workers, args: withoutWorkersOption(process.argv.slice(2)), log });
        return;
      }
      if (options.task !== undefined && options.cluster === undefined) throw new UserError('--task needs --cluster (the file listing every worker)');
      const cluster = options.cluster === undefined ? null : await readClusterFile(options.cluster);
      let dataParallel: DataParallelWorker | undefined;
      if (cluster !== null) {
        const role = { addresses: cluster.workers, task: checkTask(options.task, cluster, options.cluster!), timeoutSeconds: options.collectiveTimeout };
        // Before the run makes its tensors: the devices are renamed for the cluster.
        enableCollectives(role);
        dataParallel = new DataParallelWorker(role, workerAccumulation(pipeline.schedule.accumulation, cluster.workers.length));
      }
      // Only the chief reports; the others' errors still reach stderr.
      const chief = dataParallel?.chief ?? true;
      const out = options.out ?? path.join('runs', `${pipeline.name}-${pipeline.loss.name}`);
      // Messages about the pipeline (a diverging run, a bad loss setting) name where it came from.
      const pipelineSource = PIPELINE_NAMES.includes(options.pipeline) ? `built-in pipeline ${options.pipeline}` : options.pipeline;
      // On a terminal, a bar for each epoch's training and validation (the chief's only); a log keeps the trainer's own lines.
      const progress = new PhasedProgress('clips', process.stderr, { lines: false, transient: true });
      const onProgress = (e: { phase: string; epoch: number; batch: number; batches: number; clips: number }) =>
        progress.step(`epoch ${e.epoch}/${pipeline.schedule.epochs} ${e.phase}`, e.batch, e.batches, e.clips);
      const result = await train({
        pipeline,
        scheduleScaling,
        pipelineSource,
        dataRoot: options.data,
        out,
        ...(options.init ? { init: options.init } : {}),
        restart: options.restart,
        rewriteRunInfo: options.rewriteRunJson,
        checkpointMinutes: options.checkpointMinutes,
        graphStep: options.graphStep,
        log: chief ? (line) => progress.log(line) : () => {},
        ...(chief ? { onProgress } : {}),
        ...(dataParallel ? { dataParallel } : {}),
      }).finally(() => progress.finish());
      if (!chief) return;
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
          `weights: ${new RunFolder(out).modelFile}; history: ${new RunFolder(out).historyFile}`,
        ].join('\n');
      });
    });
}
