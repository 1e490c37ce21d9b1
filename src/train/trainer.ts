import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { classGroups, countPerClass, type ClassGroups } from '../data/class-groups.js';
import { GraphStep } from '../engine/graph/graph-step.js';
import { evaluateModel } from '../eval/evaluate.js';
import { summarize, type ClassificationMetrics, type MetricsAccumulator, type SummaryMetrics } from '../eval/metrics.js';
import { readSafetensors } from '../io/safetensors.js';
import { createLoss } from '../losses/create-loss.js';
import { DifficultyTracker } from '../losses/difficulty-tracker.js';
import type { ClipModel } from '../models/model.js';
import { importTorchStateDict, type ImportReport } from '../models/torch-weights.js';
import { percent } from '../report/metrics-table.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';
import { SeededRandom } from '../util/random.js';
import { CHECKPOINT_DIR, findCheckpoint, loadCheckpoint, saveCheckpoint, type PartialEpoch } from './checkpoint.js';
import { createPipelineLoader, createPipelineModel, loadPipelineDataset } from './from-pipeline.js';
import { learningRateAt, type Pipeline } from './pipeline.js';
import { Sgd } from './sgd.js';
import { accumulatedTrainStep } from './step.js';

export interface TrainOptions {
  pipeline: Pipeline;
  /** Folder the pipeline's dataset paths are relative to. */
  dataRoot: string;
  /** Run folder: run.json, history.jsonl, checkpoint/, model.safetensors. */
  out: string;
  /** Weights to start from; overrides the pipeline's model.init. */
  init?: string;
  /** Discard a checkpoint in `out` instead of resuming from it. */
  restart?: boolean;
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
}

/** Metrics of one evaluation: every class, and each class group. */
export interface EvaluationSummary extends SummaryMetrics {
  groups: Record<keyof ClassGroups, SummaryMetrics>;
  perClass: ClassificationMetrics['perClass'];
}

/** run.json: what a run folder was made from. */
export interface RunInfo {
  pipeline: Pipeline;
  /** The data root, absolute, so evaluation finds the same data. */
  dataRoot: string;
  seed: number;
  classes: string[];
  trainingCounts: number[];
  groups: ClassGroups;
  backend: string;
  startedAt: string;
}

/** One line of history.jsonl. */
export interface EpochRecord {
  epoch: number;
  seed: number;
  learningRate: number;
  trainLoss: number;
  seconds: number;
  validation: EvaluationSummary;
  /** The CDB weights the next epoch trains with (null for other losses). */
  cdb: { tau: number; weights: number[]; warnings: string[] } | null;
}

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

function summarizeEvaluation(metrics: MetricsAccumulator, groups: ClassGroups): EvaluationSummary {
  const all = metrics.result();
  return {
    ...summarize(all),
    groups: { majority: summarize(metrics.result(groups.majority)), minority: summarize(metrics.result(groups.minority)) },
    perClass: all.perClass,
  };
}

/** Splits a batch into at most `parts` near-equal micro-batches (the last batch of an epoch may be short). */
function microBatches(clips: tf.Tensor5D, labels: tf.Tensor1D, parts: number): { clips: tf.Tensor5D; labels: tf.Tensor1D }[] {
  const n = labels.shape[0];
  const count = Math.min(parts, n);
  if (count === 1) return [{ clips, labels }];
  const sizes = Array.from({ length: count }, (_, i) => Math.floor(n / count) + (i < n % count ? 1 : 0));
  const clipParts = tf.split(clips, sizes, 0) as tf.Tensor5D[];
  const labelParts = tf.split(labels, sizes, 0) as tf.Tensor1D[];
  return clipParts.map((c, i) => ({ clips: c, labels: labelParts[i]! }));
}

/** History lines of finished, checkpointed epochs: a kill between the two writes leaves one extra. */
async function keepHistoryUpTo(file: string, lastEpoch: number): Promise<EpochRecord[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const records = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as EpochRecord];
      } catch {
        return [];
      }
    })
    .filter((r) => r.epoch <= lastEpoch);
  await writeFileAtomic(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return records;
}

async function importInit(model: ClipModel, file: string): Promise<ImportReport & { file: string }> {
  if (!(await pathExists(file))) throw new UserError(`${file}: no such weights file (--init)`);
  const report = importTorchStateDict(model.parameters, await readSafetensors(file), file, { headPrefix: model.headPrefix, replaceHead: true });
  return { ...report, file };
}

/**
 * Trains one pipeline: every epoch, a pass over the training clips, then validation; CDB's
 * class weights come from the validation accuracies. A checkpoint after every epoch, and every
 * few minutes inside one, lets a killed run continue where it was when started again with the
 * same --out; the continued run trains exactly as an uninterrupted one would.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { pipeline: p, out } = options;
  const log = options.log ?? (() => {});
  const { annotations, dataset } = await loadPipelineDataset(p, options.dataRoot);
  if (dataset.missing.length > 0) {
    const first = dataset.missing[0]!;
    log(`warning: ${dataset.missing.length} annotated clips have no prepared frames and are left out (first: ${first.clip} at ${first.annotation}: ${first.reason})`);
  }
  if (dataset.train.length === 0) throw new UserError(`${annotations}: no training clips with prepared frames`);
  if (dataset.validation.length === 0) throw new UserError(`${annotations}: no validation clips (subjects ${p.dataset.validationSubjects}) with prepared frames`);
  const classes = dataset.classes;
  const trainingCounts = countPerClass(dataset.train.map((r) => r.label), classes.length);
  const groups = classGroups(trainingCounts, Math.min(p.dataset.majorityClasses, classes.length));

  await fs.mkdir(out, { recursive: true });
  const runFile = path.join(out, 'run.json');
  const checkpoint = options.restart ? null : await findCheckpoint(out);
  if (checkpoint !== null) {
    const previous = JSON.parse(await fs.readFile(runFile, 'utf8').catch(() => 'null')) as { pipeline?: Pipeline } | null;
    // More epochs extend a run; any other change makes it a different run.
    const withoutEpochs = (q: Pipeline | undefined) => JSON.stringify(q ? { ...q, schedule: { ...q.schedule, epochs: 0 } } : null);
    if (withoutEpochs(previous?.pipeline) !== withoutEpochs(p)) {
      throw new UserError(`${out}: holds a run of a different pipeline; pass --restart to discard it, or choose another --out`);
    }
  } else {
    // A fresh run: nothing of an earlier one may be resumed later by mistake.
    for (const stale of ['history.jsonl', 'model.safetensors', CHECKPOINT_DIR, `${CHECKPOINT_DIR}.old`, `${CHECKPOINT_DIR}.next`]) {
      await fs.rm(path.join(out, stale), { recursive: true, force: true });
    }
    const run: RunInfo = { pipeline: p, dataRoot: path.resolve(options.dataRoot), seed: p.seed, classes, trainingCounts, groups, backend: tf.getBackend(), startedAt: new Date().toISOString() };
    await fs.writeFile(runFile, `${JSON.stringify(run, null, 2)}\n`);
  }

  const model = createPipelineModel(p, classes.length);
  const tracker = p.loss.name === 'cdb' ? new DifficultyTracker(classes.length, { tau: p.loss.tau, ...p.loss.cdb }) : null;
  let epoch = 0;
  // Random draws in the loss (EQL) come from one generator per batch, so a run resumed at any
  // checkpoint draws what an uninterrupted one would.
  let batchRandom = new SeededRandom(p.seed).fork('loss/epoch/0');
  const loss = createLoss(p.loss.name, {
    ...p.loss.settings,
    numClasses: classes.length,
    counts: trainingCounts,
    ...(tracker ? { tracker } : {}),
    random: { bernoulli: (probability: number) => batchRandom.bernoulli(probability) },
    epoch: () => epoch - 1,
  });
  const optimizer = new Sgd(model.parameters.trainable(), { learningRate: p.schedule.learningRate, momentum: p.schedule.momentum, weightDecay: p.schedule.weightDecay });
  const trainLoader = createPipelineLoader(p, dataset.train, 'train');
  const validationLoader = createPipelineLoader(p, dataset.validation, 'evaluate');
  const result: TrainResult = { out, classes, groups, trainingCounts, init: null, resumedFrom: null, resumedInside: null, epochs: [] };
  const checkpointMs = (options.checkpointMinutes ?? 10) * 60_000;
  const graph = options.graphStep === false ? undefined : new GraphStep({ onEager: (reason) => log(`training steps run op by op: ${reason}`) });
  if (graph && graph.state().mode !== 'eager' && loss.graphInputs() === null) log(`training steps run op by op: loss ${p.loss.name} cannot run inside a graph`);
  let graphAnnounced = false;
  try {
    let first = 1;
    let partial: PartialEpoch | null = null;
    if (checkpoint !== null) {
      const state = await loadCheckpoint(checkpoint, model, optimizer, tracker);
      first = state.epoch + 1;
      partial = state.partial ?? null;
      result.resumedFrom = state.epoch;
      result.epochs = await keepHistoryUpTo(path.join(out, 'history.jsonl'), state.epoch);
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
    } else {
      const init = options.init ?? p.model.init;
      if (init !== undefined) {
        result.init = await importInit(model, init);
        const replaced = result.init.replacedHead.length > 0 ? `; new head for ${classes.length} classes (${result.init.replacedHead.join(', ')})` : '';
        log(`initialised from ${init}: ${result.init.loaded.length} tensors${replaced}`);
      }
    }
    log(`training ${p.name}: ${dataset.train.length} clips (${dataset.validation.length} for validation), ${classes.length} classes, ${model.arch}, loss ${p.loss.name}, seed ${p.seed}`);
    for (epoch = first; epoch <= p.schedule.epochs; epoch++) {
      // A partial epoch from the checkpoint carries its batches, running loss and time.
      const carried = epoch === first ? partial : null;
      const started = Date.now() - (carried?.seconds ?? 0) * 1000;
      optimizer.learningRate = learningRateAt(p.schedule, epoch);
      const batches = trainLoader.batchCount();
      let lossSum = carried?.lossSum ?? 0;
      let seen = carried?.seen ?? 0;
      let b = carried?.batches ?? 0;
      const resumedSeen = seen;
      const resumedAt = Date.now();
      let lastCheckpoint = Date.now();
      for await (const batch of trainLoader.batches(epoch, b)) {
        batchRandom = new SeededRandom(p.seed).fork(`loss/epoch/${epoch}/batch/${b}`);
        const parts = microBatches(batch.clips, batch.labels, p.schedule.accumulation);
        const value = accumulatedTrainStep(model, optimizer, loss, parts, graph);
        const mode = graph?.state();
        if (mode?.mode === 'graph' && !graphAnnounced) {
          graphAnnounced = true;
          log(`training steps now run as one TensorFlow graph (${mode.nodes} nodes)`);
        }
        if (parts.length > 1) tf.dispose(parts.flatMap((m) => [m.clips, m.labels]));
        if (!Number.isFinite(value)) throw new Error(`epoch ${epoch}, batch ${b + 1}: the loss is ${value}; lower the learning rate`);
        lossSum += value * batch.names.length;
        seen += batch.names.length;
        b += 1;
        if (b === batches || b % Math.max(1, Math.round(batches / 5)) === 0) {
          const seconds = (Date.now() - resumedAt) / 1000;
          log(`epoch ${epoch}/${p.schedule.epochs}: batch ${b}/${batches}, loss ${(lossSum / seen).toFixed(4)}, ${((seen - resumedSeen) / seconds).toFixed(1)} clips/s`);
        }
        if (b < batches && Date.now() - lastCheckpoint >= checkpointMs) {
          const seconds = (Date.now() - started) / 1000;
          await saveCheckpoint(out, model, optimizer, { epoch: epoch - 1, seed: p.seed, tracker: tracker?.state() ?? null, partial: { batches: b, lossSum, seen, seconds } });
          lastCheckpoint = Date.now();
        }
        options.onBatchEnd?.(epoch, b);
      }
      const validation = summarizeEvaluation(await evaluateModel(model, validationLoader, classes), groups);
      let cdb: EpochRecord['cdb'] = null;
      if (tracker !== null) {
        const update = tracker.update(validation.perClass.map((c) => c.accuracy), epoch);
        cdb = { tau: update.tau, weights: update.weights, warnings: update.warnings };
      }
      const record: EpochRecord = { epoch, seed: p.seed, learningRate: optimizer.learningRate, trainLoss: lossSum / seen, seconds: (Date.now() - started) / 1000, validation, cdb };
      result.epochs.push(record);
      await fs.appendFile(path.join(out, 'history.jsonl'), `${JSON.stringify(record)}\n`);
      await saveCheckpoint(out, model, optimizer, { epoch, seed: p.seed, tracker: tracker?.state() ?? null });
      options.onEpochEnd?.(record);
      const pct = (v: number | null) => percent(v, '%');
      log(
        `epoch ${epoch}: loss ${record.trainLoss.toFixed(4)}; validation top-1 ${pct(validation.top1)}, macro recall ${pct(validation.macroRecall)} ` +
          `(majority ${pct(validation.groups.majority.macroRecall)}, minority ${pct(validation.groups.minority.macroRecall)})` +
          (cdb ? `; tau ${cdb.tau.toFixed(3)}` : ''),
      );
    }
    // The last checkpoint holds the final weights already.
    const finalCheckpoint = await findCheckpoint(out);
    if (finalCheckpoint === null) throw new Error(`${out}: no checkpoint after training`);
    await fs.copyFile(path.join(finalCheckpoint, 'weights.safetensors'), path.join(out, 'model.safetensors'));
    return result;
  } finally {
    graph?.dispose();
    optimizer.dispose();
    loss.dispose();
    tracker?.dispose();
    model.parameters.dispose();
  }
}
