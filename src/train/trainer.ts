import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { classGroups, countPerClass, groupDefinitions, type ClassGroups } from '../data/class-groups.js';
import type { BatchSource } from '../data/batch-source.js';
import type { ClipLoader, ClipRecord } from '../data/clip-loader.js';
import { residentBytes, ResidentClips, residentUnfit } from '../data/resident-clips.js';
import type { DataParallelWorker } from '../distributed/data-parallel.js';
import { withTerminationDeferred } from '../distributed/defer-termination.js';
import { collectiveFailure } from '../distributed/failure.js';
import { globalBatchSize, microBatchSizes } from '../distributed/shard.js';
import { evaluateSharded, shardedLoader } from '../distributed/validation.js';
import { GraphStep } from '../engine/graph/graph-step.js';
import { evaluateModel } from '../metrics/evaluate.js';
import { groupedMetrics, type GroupedMetrics } from '../metrics/grouped-metrics.js';
import { describeScaling, type ScheduleScaling } from '../config/schedule.js';
import { buildLoss, type ClassLoss } from '../losses/registry.js';
import type { DifficultyTracker } from '../losses/difficulty-tracker.js';
import type { ClipModel } from '../models/model.js';
import { checkFiniteTensors } from '../io/safetensors.js';
import { importTorchStateDict, readWeightsFile, type ImportReport } from '../models/torch-weights.js';
import { percent } from '../metrics/metrics-table.js';
import { logEpoch } from '../run/tensorboard.js';
import { checkpointFiles, RunFolder, type EpochRecord, type RunInfo } from '../run/run-folder.js';
import { lockRunFolder } from '../run/run-lock.js';
import { UserError } from '../util/errors.js';
import { pathExists } from '../util/files.js';
import { SeededRandom } from '../util/random.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointState, type PartialEpoch } from './checkpoint.js';
import { createPipelineLoader, createPipelineModel, loadPipelineDataset } from './from-pipeline.js';
import { learningRateAt, type Pipeline } from '../config/pipeline.js';
import { Sgd } from './sgd.js';
import { accumulatedTrainStep, NonFiniteStepError } from './step.js';

export type { EpochRecord, RunInfo } from '../run/run-folder.js';

export interface TrainOptions {
  pipeline: Pipeline;
  /** Where the pipeline came from (a file, or "built-in synth"), for messages; default its name. */
  pipelineSource?: string;
  /** Folder the pipeline's dataset paths are relative to. */
  dataRoot: string;
  /** Run folder (see RunFolder): run.json, history.jsonl, checkpoint/, model.safetensors. */
  out: string;
  /** Weights to start from; overrides the pipeline's model.init. */
  init?: string;
  /** How --epochs moved the pipeline's milestones (config/schedule.ts), recorded in run.json. */
  scheduleScaling?: ScheduleScaling | null;
  /** Discard a checkpoint and every result in `out` instead of resuming. */
  restart?: boolean;
  /**
   * Write run.json anew from this pipeline and data when it is missing or damaged, and resume
   * (the checkpoint, history and evaluations are kept). Without it a damaged run.json is refused.
   */
  rewriteRunInfo?: boolean;
  /** Where progress lines go (stderr in the command line). */
  log?: (line: string) => void;
  /** Minutes between checkpoints inside an epoch (default 10; 0: after every batch). Every epoch ends with one. */
  checkpointMinutes?: number;
  /**
   * Run each training step as one TensorFlow graph once it has been recorded (default true;
   * native engine only). Off: every op is dispatched on its own, as tfjs does.
   */
  graphStep?: boolean;
  /** Called after each epoch is checkpointed. */
  onEpochEnd?: (record: EpochRecord) => void;
  /** Called after each training batch (1-based), after any checkpoint it triggered. */
  onBatchEnd?: (epoch: number, batch: number) => void;
  /** Told after each batch trained or validated, with its clips (the command line's progress bars). */
  onProgress?: (event: { phase: 'train' | 'validation'; epoch: number; batch: number; batches: number; clips: number }) => void;
  /**
   * This process is one worker of data-parallel training (src/distributed/): it trains on its
   * share of every batch, all-reduces the step, validates its share; only the chief (task 0)
   * writes the run folder. The folder must be the same (shared) on every worker.
   */
  dataParallel?: DataParallelWorker;
}

/** Metrics of one validation: every class, each class group, and per class. */
export type EvaluationSummary = GroupedMetrics<'majority' | 'minority'>;

export interface TrainResult {
  out: string;
  classes: string[];
  groups: ClassGroups;
  trainingCounts: number[];
  init: (ImportReport & { file: string }) | null;
  /** The last finished epoch of the checkpoint the run resumed from (null: a fresh run). */
  resumedFrom: number | null;
  /** Set when that checkpoint was saved inside an epoch: the epoch and the batches already trained. */
  resumedInside: { epoch: number; batches: number } | null;
  epochs: EpochRecord[];
}

/** The data a run trains and validates on. */
export interface RunData {
  annotations: string;
  train: ClipRecord[];
  validation: ClipRecord[];
  classes: string[];
  trainingCounts: number[];
  groups: ClassGroups;
}

/** Everything one run trains with, made once and disposed together. */
export interface Training {
  p: Pipeline;
  options: TrainOptions;
  folder: RunFolder;
  data: RunData;
  model: ClipModel;
  tracker: DifficultyTracker | null;
  loss: ClassLoss;
  optimizer: Sgd;
  trainLoader: BatchSource;
  validationLoader: BatchSource;
  /** The sets among those held on the device, disposed with the training. */
  resident: ResidentClips[];
  graph: GraphStep | undefined;
  /** Validation's forward pass as one graph per batch. */
  validationGraph: GraphStep | undefined;
  /** Set for a data-parallel worker. */
  dataParallel: DataParallelWorker | undefined;
  log: (line: string) => void;
  /** The last checkpoint written, for messages: "after epoch 2", "inside epoch 3, after batch 4". */
  lastCheckpoint: string | null;
  graphAnnounced: boolean;
}

/** Splits a batch into at most `parts` near-equal micro-batches (the last batch of an epoch may be short). */
export function microBatches(clips: tf.Tensor5D, labels: tf.Tensor1D, parts: number): { clips: tf.Tensor5D; labels: tf.Tensor1D }[] {
  const sizes = microBatchSizes(labels.shape[0], parts);
  if (sizes.length === 1) return [{ clips, labels }];
  const clipParts = tf.split(clips, sizes, 0) as tf.Tensor5D[];
  const labelParts = tf.split(labels, sizes, 0) as tf.Tensor1D[];
  return clipParts.map((c, i) => ({ clips: c, labels: labelParts[i]! }));
}

async function importInit(model: ClipModel, file: string): Promise<ImportReport & { file: string }> {
  if (!(await pathExists(file))) throw new UserError(`${file}: no such weights file (--init)`);
  const tensors = await readWeightsFile(file);
  checkFiniteTensors(tensors, file, 'training cannot start from them (--init / model.init); they come from a diverged run, or the file is damaged');
  const report = importTorchStateDict(model.parameters, tensors, file, { headPrefix: model.headPrefix, replaceHead: true });
  return { ...report, file };
}

export async function loadRunData(p: Pipeline, dataRoot: string, log: (line: string) => void): Promise<RunData> {
  const { annotations, dataset } = await loadPipelineDataset(p, dataRoot);
  if (dataset.missing.length > 0) {
    const first = dataset.missing[0]!;
    log(
      `warning: ${dataset.missing.length} annotated clips have no prepared frames and are left out (first: ${first.clip} at ${first.annotation}: ${first.reason})`,
    );
  }
  if (dataset.train.length === 0) throw new UserError(`${annotations}: no training clips with prepared frames`);
  if (dataset.validation.length === 0)
    throw new UserError(`${annotations}: no validation clips (subjects ${p.dataset.validationSubjects}) with prepared frames`);
  const classes = dataset.classes;
  const trainingCounts = countPerClass(
    dataset.train.map((r) => r.label),
    classes.length,
  );
  const validationCounts = countPerClass(
    dataset.validation.map((r) => r.label),
    classes.length,
  );
  const unmeasured = classes.filter((_, c) => validationCounts[c] === 0);
  if (unmeasured.length > 0) {
    // Said once here, not only in each epoch's history: every epoch's metrics leave these classes out.
    log(
      `warning: ${unmeasured.length} of ${classes.length} classes have no validation clips (${unmeasured.join(', ')}): their validation accuracy is never measured, ` +
        `so validation metrics leave them out${p.loss.name === 'cdb' ? ' and CDB keeps their weight' : ''}; to measure them, choose validation subjects that have them (dataset.validationSubjects ${p.dataset.validationSubjects})`,
    );
  }
  const groups = classGroups(trainingCounts, Math.min(p.dataset.majorityClasses, classes.length));
  return { annotations, train: dataset.train, validation: dataset.validation, classes, trainingCounts, groups };
}

/**
 * Decides between resuming and starting afresh; returns the checkpoint to resume from (or
 * null, after clearing what an earlier run left). Results are never deleted without --restart.
 */
export async function openRunFolder(folder: RunFolder, options: TrainOptions, data: RunData): Promise<string | null> {
  const p = options.pipeline;
  if (options.restart) {
    await folder.clear();
  } else {
    const checkpoint = await folder.findCheckpoint();
    if (checkpoint !== null) {
      const recorded = await folder.checkedRunInfo();
      if ('problem' in recorded) {
        // What run.json says cannot be checked: only the user knows this is the run's pipeline.
        if (!options.rewriteRunInfo) throw new UserError(`${recorded.problem}. ${folder.rewriteAdvice()}`);
        options.log?.(
          `${recorded.problem}: writing it anew from ${options.pipelineSource ?? `pipeline ${p.name}`} and ${path.resolve(options.dataRoot)} (--rewrite-run-json)`,
        );
        await folder.writeRunInfo(newRunInfo(options, data));
        return checkpoint;
      }
      // More epochs extend a run; the loader's settings change its speed, never its batches; any other change makes it a different run.
      const withoutEpochs = (q: Pipeline) => JSON.stringify({ ...q, schedule: { ...q.schedule, epochs: 0, milestones: [] }, loader: null });
      if (withoutEpochs(recorded.info.pipeline) !== withoutEpochs(p)) {
        throw new UserError(`${folder.dir}: holds a run of a different pipeline; pass --restart to discard it, or choose another --out`);
      }
      await refuseChangedRates(folder, checkpoint, recorded.info.pipeline, p);
      return checkpoint;
    }
    const results = await folder.results();
    if (results.length > 0) {
      throw new UserError(
        `${folder.dir}: holds results (${results.join(', ')}) but no checkpoint to resume from (${path.relative(folder.dir, checkpointFiles(folder.checkpointDir).state)} is missing); ` +
          'pass --restart to discard them and train from the start, or choose another --out to keep them',
      );
    }
    // Nothing finished: whatever is left (a half-written checkpoint) goes.
    await folder.clear();
  }
  await folder.writeRunInfo(newRunInfo(options, data));
  return null;
}

function newRunInfo(options: TrainOptions, data: RunData): RunInfo {
  const p = options.pipeline;
  return {
    pipeline: p,
    dataRoot: path.resolve(options.dataRoot),
    seed: p.seed,
    classes: data.classes,
    trainingCounts: data.trainingCounts,
    groups: data.groups,
    backend: tf.getBackend(),
    startedAt: new Date().toISOString(),
    scheduleScaling: options.scheduleScaling ?? null,
  };
}

/**
 * Milestones scale with --epochs (config/schedule.ts), so extending a run can move them: it is
 * the same run only if every epoch trained so far (and one it stopped inside) keeps its rate.
 */
async function refuseChangedRates(folder: RunFolder, checkpoint: string, recorded: Pipeline, p: Pipeline): Promise<void> {
  let state: CheckpointState | null;
  try {
    state = JSON.parse(await fs.readFile(checkpointFiles(checkpoint).state, 'utf8')) as CheckpointState | null;
  } catch {
    return; // Loading the checkpoint names what is wrong with it.
  }
  if (typeof state?.epoch !== 'number' || state.epoch >= p.schedule.epochs) return; // Nothing more to train.
  // The rates the history holds (an extension may have trained under other milestones than run.json's); run.json's for an epoch stopped inside.
  const trained = new Map((await folder.readHistory()).map((r) => [r.epoch, r.learningRate]));
  const fixed = state.epoch + (state.partial ? 1 : 0);
  for (let epoch = 1; epoch <= fixed; epoch++) {
    if ((trained.get(epoch) ?? learningRateAt(recorded.schedule, epoch)) === learningRateAt(p.schedule, epoch)) continue;
    const was = recorded.schedule.milestones.join(',') || 'none';
    throw new UserError(
      `${folder.dir}: its ${state.epoch} epochs were trained with milestones ${was} (of ${recorded.schedule.epochs} epochs); with ${p.schedule.epochs} epochs the milestones are ${p.schedule.milestones.join(',') || 'none'}, ` +
        `which changes the learning rate of epoch ${epoch}. Keep the run's with --set schedule.milestones=${was === 'none' ? '' : was}, pass --restart to train from the start, or choose another --out`,
    );
  }
}

function createTraining(options: TrainOptions, folder: RunFolder, data: RunData, sources: RunSources, log: (line: string) => void): Training {
  const p = options.pipeline;
  const model = createPipelineModel(p, data.classes.length);
  let loss: ClassLoss;
  let tracker: DifficultyTracker | null;
  try {
    ({ loss, tracker } = buildLoss(p.loss, { numClasses: data.classes.length, counts: data.trainingCounts }));
  } catch (error) {
    // A setting the loss cannot use (a beta of 1, say) is the pipeline's mistake.
    model.parameters.dispose();
    for (const set of sources.resident) set.dispose();
    throw new UserError(`${options.pipelineSource ?? `pipeline ${p.name}`}: loss ${p.loss.name}: ${(error as Error).message}`);
  }
  const optimizer = new Sgd(model.parameters.trainable(), {
    learningRate: p.schedule.learningRate,
    momentum: p.schedule.momentum,
    weightDecay: p.schedule.weightDecay,
  });
  const graph = options.graphStep === false ? undefined : new GraphStep({ onEager: (reason) => log(`training steps run op by op: ${reason}`) });
  if (graph && graph.state().mode !== 'eager' && loss.graphInputs() === null) log(`training steps run op by op: loss ${p.loss.name} cannot run inside a graph`);
  return {
    p,
    options,
    folder,
    data,
    model,
    tracker,
    loss,
    optimizer,
    ...sources,
    graph,
    validationGraph: options.graphStep === false ? undefined : new GraphStep(),
    dataParallel: options.dataParallel,
    log,
    lastCheckpoint: null,
    graphAnnounced: false,
  };
}

/** Where a run's training and validation batches come from. */
interface RunSources {
  trainLoader: BatchSource;
  validationLoader: BatchSource;
  resident: ResidentClips[];
}

/**
 * The run's batch sources. A set whose clips every epoch loads alike (validation always;
 * training without augmentation that draws pixels) is decoded once and held on the device
 * (src/data/resident-clips.ts) while the sets held fit loader.cacheMiB, training first; the
 * others are loaded every epoch. A data-parallel worker's loaders load only its share of each batch.
 */
async function runSources(p: Pipeline, data: RunData, worker: DataParallelWorker | undefined, log: (line: string) => void): Promise<RunSources> {
  const trainLoader = createPipelineLoader(p, data.train, 'train');
  const validationLoader = createPipelineLoader(p, data.validation, 'evaluate');
  if (worker !== undefined) {
    return { trainLoader: shardedLoader(trainLoader, worker, worker.accumulation), validationLoader: shardedLoader(validationLoader, worker, 1), resident: [] };
  }
  const budget = (p.loader.cacheMiB ?? 0) * 2 ** 20;
  if (budget === 0) return { trainLoader, validationLoader, resident: [] };
  const resident: ResidentClips[] = [];
  const notes: string[] = [];
  let left = budget;
  const hold = async (loader: ClipLoader, what: string): Promise<BatchSource> => {
    const bytes = residentBytes(loader);
    const unfit =
      residentUnfit(loader) ?? (bytes > left ? `${(bytes / 2 ** 20).toFixed(0)} MiB, beyond what is left of loader.cacheMiB ${p.loader.cacheMiB}` : null);
    if (unfit !== null) {
      notes.push(`${what} loaded every epoch (${unfit})`);
      return loader;
    }
    const started = Date.now();
    const set = await ResidentClips.build(loader);
    resident.push(set);
    left -= bytes;
    notes.push(
      `${what} decoded once and held on the device (${loader.records.length} clips, ${(bytes / 2 ** 20).toFixed(0)} MiB, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    return set;
  };
  try {
    const sources = { trainLoader: await hold(trainLoader, 'training clips'), validationLoader: await hold(validationLoader, 'validation clips'), resident };
    log(notes.join('; '));
    return sources;
  } catch (error) {
    for (const set of resident) set.dispose();
    throw error;
  }
}

export function disposeTraining(t: Training): void {
  for (const set of t.resident) set.dispose();
  t.graph?.dispose();
  t.validationGraph?.dispose();
  t.optimizer.dispose();
  t.loss.dispose();
  t.tracker?.dispose();
  t.model.parameters.dispose();
}

/** Trains epoch `epoch` (from batch `carried.batches` when resuming inside it); returns its running loss and time. */
async function trainOneEpoch(t: Training, epoch: number, carried: PartialEpoch | null): Promise<PartialEpoch> {
  const { p, log } = t;
  const started = Date.now() - (carried?.seconds ?? 0) * 1000;
  t.optimizer.learningRate = learningRateAt(p.schedule, epoch);
  const batches = t.trainLoader.batchCount();
  const checkpointMs = (t.options.checkpointMinutes ?? 10) * 60_000;
  let lossSum = carried?.lossSum ?? 0;
  let seen = carried?.seen ?? 0;
  let b = carried?.batches ?? 0;
  const resumedSeen = seen;
  const resumedAt = Date.now();
  let lastCheckpoint = Date.now();
  for await (const batch of t.trainLoader.batches(epoch, b)) {
    beginLossBatch(t, epoch, b);
    const value = trainStepOrStop(t, epoch, b + 1, batch.clips, batch.labels);
    // A worker's loss is the whole batch's (all-reduced), so it counts the whole batch.
    const clips = t.dataParallel ? globalBatchSize(t.trainLoader.records.length, t.trainLoader.options.batchSize, b) : batch.names.length;
    lossSum += value * clips;
    seen += clips;
    b += 1;
    if (b === batches || b % Math.max(1, Math.round(batches / 5)) === 0) {
      const seconds = (Date.now() - resumedAt) / 1000;
      log(
        `epoch ${epoch}/${p.schedule.epochs}: batch ${b}/${batches}, loss ${(lossSum / seen).toFixed(4)}, ${((seen - resumedSeen) / seconds).toFixed(1)} clips/s`,
      );
    }
    if (b < batches && Date.now() - lastCheckpoint >= checkpointMs && (t.dataParallel?.chief ?? true)) {
      await writeCheckpoint(t, epoch - 1, { batches: b, lossSum, seen, seconds: (Date.now() - started) / 1000 });
      lastCheckpoint = Date.now();
    }
    t.options.onBatchEnd?.(epoch, b);
    t.options.onProgress?.({ phase: 'train', epoch, batch: b, batches, clips: batch.names.length });
  }
  return { batches: b, lossSum, seen, seconds: (Date.now() - started) / 1000 };
}

/**
 * Tells the loss that batch `batch` (0-based) of `epoch` starts. Random draws in the loss (EQL)
 * come from one generator per batch, so a run resumed at any checkpoint draws what an
 * uninterrupted one would.
 */
export function beginLossBatch(t: Training, epoch: number, batch: number): void {
  t.loss.beginBatch({ epoch, batch, random: new SeededRandom(t.p.seed).fork(`loss/epoch/${epoch}/batch/${batch}`) });
}

/** One optimisation step; a non-finite loss, gradient or value stops the run before anything is saved. */
function trainStepOrStop(t: Training, epoch: number, batch: number, clips: tf.Tensor5D, labels: tf.Tensor1D): number {
  // A worker cuts its share into the micro-batches the single process would make of it.
  const share = t.dataParallel?.stepShare(globalBatchSize(t.trainLoader.records.length, t.trainLoader.options.batchSize, batch - 1));
  const parts = share
    ? share.share.parts === 0
      ? []
      : microBatches(clips, labels, share.share.parts)
    : microBatches(clips, labels, t.p.schedule.accumulation);
  try {
    const value = accumulatedTrainStep(t.model, t.optimizer, t.loss, parts, t.graph, share);
    const mode = t.graph?.state();
    if (mode?.mode === 'graph' && !t.graphAnnounced) {
      t.graphAnnounced = true;
      t.log(`training steps now run as one TensorFlow graph (${mode.nodes} nodes)`);
    }
    return value;
  } catch (error) {
    if (error instanceof NonFiniteStepError) throw divergence(t, `epoch ${epoch}, batch ${batch}`, error.what, 'step');
    throw error;
  } finally {
    if (parts.length > 1) tf.dispose(parts.flatMap((m) => [m.clips, m.labels]));
  }
}

/** Where it diverged (`epoch 2, batch 3`), what is not finite, and what of the run that leaves unsaved. */
export function divergence(t: Training, at: string, what: string, unsaved: 'step' | 'epoch'): UserError {
  const source = t.options.pipelineSource ?? `pipeline ${t.p.name}`;
  const kept = t.lastCheckpoint === null ? 'no checkpoint was written yet' : `the last checkpoint (${t.lastCheckpoint}) is kept`;
  return new UserError(
    `${source}: training diverged at ${at}: ${what}. Nothing of this ${unsaved} was saved; ${kept}. ` +
      `Likely causes: a learning rate too high for this model (schedule.learningRate ${t.p.schedule.learningRate}), ` +
      `or a normalisation that does not fit the frames (clips.transform mean ${JSON.stringify(t.p.clips.transform.mean)}, std ${JSON.stringify(t.p.clips.transform.std)}). ` +
      'Rerunning the same command would diverge again: change the pipeline and pass --restart, or train it into another --out.',
  );
}

/** The model on the validation clips, by class group. */
async function validate(t: Training, epoch: number): Promise<EvaluationSummary> {
  // Sharded validation reports no progress: its batches are each worker's share.
  const metrics = t.dataParallel
    ? await evaluateSharded(t.model, t.validationLoader, t.data.classes, t.dataParallel)
    : await evaluateModel(
        t.model,
        t.validationLoader,
        t.data.classes,
        (batch, batches, clips) => t.options.onProgress?.({ phase: 'validation', epoch, batch, batches, clips }),
        { graph: t.validationGraph },
      );
  // Finite weights can still give non-finite scores: a model that scores nothing is a diverged one, not a 0% one.
  if (metrics.unscoredSamples > 0) {
    throw divergence(
      t,
      `epoch ${epoch}, in validation`,
      `the model's scores of ${metrics.unscoredSamples} of ${t.data.validation.length} validation clips hold NaN or Inf`,
      'epoch',
    );
  }
  return groupedMetrics(metrics, groupDefinitions(t.data.trainingCounts, t.data.groups), ['majority', 'minority']);
}

export async function writeCheckpoint(t: Training, finishedEpoch: number, partial?: PartialEpoch): Promise<void> {
  const save = () =>
    saveCheckpoint(t.folder, t.model, t.optimizer, {
      epoch: finishedEpoch,
      seed: t.p.seed,
      tracker: t.tracker?.state() ?? null,
      ...(partial ? { partial } : {}),
    });
  // A data-parallel chief told to stop while it saves (another worker failed) saves first.
  await (t.dataParallel ? withTerminationDeferred(save) : save());
  t.lastCheckpoint = partial ? `inside epoch ${finishedEpoch + 1}, after batch ${partial.batches}` : `after epoch ${finishedEpoch}`;
}

/** Ends an epoch: validation, the loss's update (CDB weights), the history line, then the checkpoint. */
export async function finishEpoch(t: Training, epoch: number, trained: PartialEpoch): Promise<EpochRecord> {
  t.dataParallel?.agreeOnState(`the training state after epoch ${epoch}`, [
    ...t.model.parameters.list().map((p) => p.variable),
    ...t.optimizer.state().values(),
  ]);
  const validationStarted = Date.now();
  const validation = await validate(t, epoch);
  const cdb = t.loss.endEpoch(
    epoch,
    validation.perClass.map((c) => c.accuracy),
  );
  // Every worker computed CDB's weights from the whole validation set: they must be the same.
  if (cdb && t.dataParallel) t.dataParallel.agree(`CDB's class weights after epoch ${epoch}`, [cdb.tau, ...cdb.weights]);
  const seconds = trained.seconds + (Date.now() - validationStarted) / 1000;
  const record: EpochRecord = {
    epoch,
    seed: t.p.seed,
    learningRate: t.optimizer.learningRate,
    trainLoss: trained.lossSum / trained.seen,
    seconds,
    validation,
    cdb,
  };
  if (t.dataParallel && !t.dataParallel.chief) return record;
  await t.folder.appendHistory(record);
  await logEpoch(t.folder.dir, record);
  await writeCheckpoint(t, epoch);
  const pct = (v: number | null) => percent(v, '%');
  t.log(
    `epoch ${epoch}: loss ${record.trainLoss.toFixed(4)}; validation top-1 ${pct(validation.top1)}, macro recall ${pct(validation.macroRecall)} ` +
      `(majority ${pct(validation.groups.majority.macroRecall)}, minority ${pct(validation.groups.minority.macroRecall)})` +
      (cdb ? `; tau ${cdb.tau.toFixed(3)}` : ''),
  );
  return record;
}

/** Loads the checkpoint (or the initial weights of a fresh run); returns the first epoch to train and any partial one. */
async function resumeOrInit(t: Training, checkpoint: string | null, result: TrainResult): Promise<{ first: number; partial: PartialEpoch | null }> {
  const { p, options, log } = t;
  if (checkpoint === null) {
    const init = options.init ?? p.model.init;
    if (init !== undefined) {
      result.init = await importInit(t.model, init);
      const replaced = result.init.replacedHead.length > 0 ? `; new head for ${t.data.classes.length} classes (${result.init.replacedHead.join(', ')})` : '';
      log(`initialised from ${init}: ${result.init.loaded.length} tensors${replaced}`);
    }
    return { first: 1, partial: null };
  }
  const state = await loadCheckpoint(checkpoint, t.model, t.optimizer, t.tracker);
  const first = state.epoch + 1;
  const partial = state.partial ?? null;
  result.resumedFrom = state.epoch;
  // Only the chief writes the run folder (the history it keeps is the one it trims).
  result.epochs = (t.dataParallel?.chief ?? true) ? await t.folder.keepHistoryUpTo(state.epoch) : [];
  t.lastCheckpoint = partial ? `inside epoch ${first}, after batch ${partial.batches}` : `after epoch ${state.epoch}`;
  if (partial !== null && first > p.schedule.epochs) {
    throw new UserError(`${checkpoint}: the run stopped inside epoch ${first}; train to at least ${first} epochs, or pass --restart`);
  }
  if (partial !== null) {
    result.resumedInside = { epoch: first, batches: partial.batches };
    log(`resuming epoch ${first} after batch ${partial.batches} from ${checkpoint}`);
  } else {
    log(`resuming after epoch ${state.epoch} from ${checkpoint}`);
  }
  if (options.init !== undefined) log(`warning: --init ${options.init} is not used: the run resumes from its checkpoint (pass --restart to start over)`);
  return { first, partial };
}

/**
 * A run's Training over its batch sources, resumed from `checkpoint` (or initialised), with its
 * result so far and where it goes on; disposed again if resuming fails. `train` and packed
 * sweeps (src/pack/) start a run the same way.
 */
export async function startTraining(
  options: TrainOptions,
  folder: RunFolder,
  data: RunData,
  checkpoint: string | null,
  log: (line: string) => void,
): Promise<{ t: Training; result: TrainResult; first: number; partial: PartialEpoch | null }> {
  const p = options.pipeline;
  const t = createTraining(options, folder, data, await runSources(p, data, options.dataParallel, log), log);
  const result: TrainResult = {
    out: options.out,
    classes: data.classes,
    groups: data.groups,
    trainingCounts: data.trainingCounts,
    init: null,
    resumedFrom: null,
    resumedInside: null,
    epochs: [],
  };
  try {
    const { first, partial } = await resumeOrInit(t, checkpoint, result);
    log(
      `training ${p.name}: ${data.train.length} clips (${data.validation.length} for validation), ${data.classes.length} classes, ${t.model.arch}, loss ${p.loss.name}, seed ${p.seed}`,
    );
    if (options.scheduleScaling) log(`learning rate x${p.schedule.gamma} after ${describeScaling(options.scheduleScaling)}`);
    return { t, result, first, partial };
  } catch (error) {
    disposeTraining(t);
    throw error;
  }
}

/**
 * Trains one pipeline: every epoch, a pass over the training clips, then validation; CDB's
 * class weights come from the validation accuracies. A checkpoint after every epoch, and every
 * few minutes inside one, lets a killed run continue where it was when started again with the
 * same --out; the continued run trains exactly as an uninterrupted one would. One process at a
 * time writes a run folder (a lock), and a diverging step stops the run before it saves.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const p = options.pipeline;
  const log = options.log ?? (() => {});
  const data = await loadRunData(p, options.dataRoot, log);
  const folder = new RunFolder(options.out);
  // A data-parallel worker other than the chief reads the run folder and never writes it.
  const chief = options.dataParallel?.chief ?? true;
  if (chief) await fs.mkdir(folder.dir, { recursive: true });
  const lock = chief ? await lockRunFolder(folder.lockFile) : null;
  try {
    const checkpoint = chief ? await openRunFolder(folder, options, data) : options.restart ? null : await folder.findCheckpoint();
    const { t, result, first, partial } = await startTraining(options, folder, data, checkpoint, log);
    try {
      try {
        options.dataParallel?.agree(`the point the run resumes from in ${folder.dir} (epoch, batch; every worker must see the chief's run folder)`, [
          first,
          partial?.batches ?? 0,
        ]);
        for (let epoch = first; epoch <= p.schedule.epochs; epoch++) {
          // A partial epoch from the checkpoint carries its batches, running loss and time.
          const trained = await trainOneEpoch(t, epoch, epoch === first ? partial : null);
          const record = await finishEpoch(t, epoch, trained);
          result.epochs.push(record);
          options.onEpochEnd?.(record);
        }
      } catch (error) {
        // A worker that lost its peers says which one, not TensorFlow's status code.
        throw (options.dataParallel && collectiveFailure(error, options.dataParallel.role)) || error;
      }
      if (!chief) return result;
      // The last checkpoint holds the final weights already.
      const finalCheckpoint = await folder.findCheckpoint();
      if (finalCheckpoint === null) throw new Error(`${folder.dir}: no checkpoint after training`);
      await folder.writeModel(checkpointFiles(finalCheckpoint).weights);
      return result;
    } finally {
      disposeTraining(t);
    }
  } finally {
    await lock?.release();
  }
}
