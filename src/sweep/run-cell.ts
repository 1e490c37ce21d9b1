import fs from 'node:fs/promises';
import path from 'node:path';
import { evaluateRunModels, GROUP_NAMES, type RunEvaluation } from '../eval/evaluate-run.js';
import type { SummaryMetrics } from '../metrics/metrics.js';
import type { ScheduleScaling } from '../config/schedule.js';
import type { Pipeline } from '../config/pipeline.js';
import { validatePipeline } from '../config/pipeline.js';
import { RunFolder, type BestEpoch, type EpochRecord } from '../run/run-folder.js';
import { train, type TrainOptions, type TrainResult } from '../train/trainer.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';

/** cell.json: what the sweep asks one run folder to do. */
export interface CellOrder {
  pipeline: Pipeline;
  dataRoot: string;
  /** How --epochs moved the pipeline's milestones (recorded in the run's run.json). */
  scheduleScaling?: ScheduleScaling | null;
  /** Also evaluate both models with post-hoc logit adjustment t (the sweep asks it of its ce cells). */
  posthocTau?: number;
}

/** One class group's test results, with its size and the rule that chose it. */
export interface GroupResult extends SummaryMetrics {
  classes: number;
  rule?: string;
}

/** The test results of one model of a run. */
export interface ModelResult {
  epoch: number;
  overall: SummaryMetrics;
  groups: Record<string, GroupResult>;
  perClassAccuracy: (number | null)[];
}

/** result.json: a finished cell. Its presence is what makes a rerun skip the cell. */
export interface CellResult {
  /** The epochs the run's history holds (a run is never shortened: it may be more than a rerun's --epochs). */
  epochs: number;
  iterations: number;
  /** The learning rate of the first epoch and of each epoch where it changed, from the history (absent in results of older versions). */
  learningRates?: { epoch: number; learningRate: number }[];
  seconds: number;
  classes: string[];
  trainingCounts: number[];
  /** The weights after the last epoch (what the paper reports). */
  final: ModelResult;
  /** The weights of the epoch with the best validation macro recall (the earliest on ties). */
  best: ModelResult;
  /** Both models again with post-hoc logit adjustment, when the sweep asked for it. */
  posthoc?: { tau: number; final: ModelResult; best: ModelResult };
}

export const CELL_FILES = { order: 'cell.json', result: 'result.json', log: 'run.log', claim: 'cell.lock' } as const;

/**
 * What a sweep tells the process it started for cells once their orders (cell.json) are written:
 * it starts the process first, so TensorFlow loads while the cells' images are built.
 */
export const ORDERS_WRITTEN = 'egtea sweep: orders written';

/**
 * A cell's result.json when it holds a run of at least `epochs` epochs: a larger --epochs extends
 * the run, a smaller one cannot shorten it (the result says how many epochs it has).
 */
export async function readCellResult(folder: string, epochs: number): Promise<CellResult | null> {
  const file = path.join(folder, CELL_FILES.result);
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  let result: CellResult;
  try {
    result = JSON.parse(text) as CellResult;
  } catch (error) {
    throw new DamagedCellResult(file, (error as Error).message);
  }
  if (typeof result?.epochs !== 'number' || typeof result.final?.overall !== 'object' || typeof result.best?.overall !== 'object')
    throw new DamagedCellResult(file, 'not a result of egtea sweep (epochs, final, best)');
  return result.epochs >= epochs ? result : null;
}

/**
 * A cell's result.json that cannot be read (cut short by a full disk, edited by hand). Only the
 * evaluation is lost: running the sweep again evaluates the cell's trained model again.
 */
export class DamagedCellResult extends UserError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: damaged (${reason}); run the sweep again (without --no-run) to evaluate the cell again from its trained model`);
  }
}

/** The learning rate of the first epoch and of every epoch where it changed. */
function learningRateChanges(history: readonly EpochRecord[]): { epoch: number; learningRate: number }[] {
  return history.filter((r, i) => i === 0 || r.learningRate !== history[i - 1]!.learningRate).map((r) => ({ epoch: r.epoch, learningRate: r.learningRate }));
}

function bestOf(records: readonly EpochRecord[]): BestEpoch | null {
  let best: BestEpoch | null = null;
  for (const r of records) {
    const value = r.validation.macroRecall ?? -1;
    if (best === null || value > best.macroRecall) best = { epoch: r.epoch, macroRecall: value };
  }
  return best;
}

function modelResult(epoch: number, evaluation: RunEvaluation): ModelResult {
  const { samples, top1, top5, macroRecall, macroPrecision } = evaluation;
  const groups = Object.fromEntries(
    GROUP_NAMES.flatMap((name) => {
      const g = evaluation.groups[name];
      return g
        ? [
            [
              name,
              {
                samples: g.samples,
                top1: g.top1,
                top5: g.top5,
                macroRecall: g.macroRecall,
                macroPrecision: g.macroPrecision,
                classes: g.classes.length,
                ...(g.rule ? { rule: g.rule } : {}),
              },
            ],
          ]
        : [];
    }),
  );
  return { epoch, overall: { samples, top1, top5, macroRecall, macroPrecision }, groups, perClassAccuracy: evaluation.perClass.map((c) => c.accuracy) };
}

/**
 * Trains and evaluates one cell in its folder: the run folder `egtea train` would write, plus the
 * weights of the best validation epoch, both models' test results and result.json. Started again
 * after a kill, training resumes from its checkpoint.
 */
export async function runCell(folder: string, log: (line: string) => void = () => {}): Promise<CellResult> {
  const cell = await cellTraining(folder, log);
  return finishCell(folder, cell, await train(cell.options), log);
}

/** A cell's order, checked, and the options that train it and keep the weights of its best validation epoch. */
export async function cellTraining(
  folder: string,
  log: (line: string) => void,
): Promise<{ pipeline: Pipeline; posthocTau: number | undefined; options: TrainOptions }> {
  const orderFile = path.join(folder, CELL_FILES.order);
  if (!(await pathExists(orderFile))) throw new UserError(`${orderFile}: missing; this folder was not made by egtea sweep`);
  const order = JSON.parse(await fs.readFile(orderFile, 'utf8')) as CellOrder;
  const pipeline = validatePipeline(order.pipeline, orderFile);
  const run = new RunFolder(folder);
  // On resume, the best so far is the one recorded with its weights; a fresh run forgets any.
  if ((await run.findCheckpoint()) === null) await run.forgetBest();
  let best = await run.readBest();
  const options: TrainOptions = {
    pipeline,
    scheduleScaling: order.scheduleScaling ?? null,
    dataRoot: order.dataRoot,
    out: folder,
    log,
    onEpochEnd: (record) => {
      const value = record.validation.macroRecall ?? -1;
      if (best !== null && value <= best.macroRecall) return;
      best = { epoch: record.epoch, macroRecall: value };
      run.keepBest(best);
    },
  };
  return { pipeline, posthocTau: order.posthocTau, options };
}

/** After a cell's training: both models' test results, then result.json (which marks the cell finished). */
export async function finishCell(
  folder: string,
  trained: { pipeline: Pipeline; posthocTau?: number | undefined },
  result: TrainResult,
  log: (line: string) => void,
): Promise<CellResult> {
  const { pipeline } = trained;
  const run = new RunFolder(folder);
  const history = await run.readHistory();
  const expected = bestOf(history);
  if (expected === null) throw new Error(`${folder}: no epochs in history.jsonl after training`);
  const recorded = await run.readBest();
  if (recorded?.epoch !== expected.epoch) {
    // A kill between an epoch's checkpoint and its best-weights copy: only the final model is known.
    log(
      `warning: the weights of best epoch ${expected.epoch} were not kept (a kill at that epoch's end); reporting epoch ${recorded?.epoch ?? 'none'} as best`,
    );
  }
  const bestEpoch = recorded?.epoch ?? history.at(-1)!.epoch;
  const bestWeights = recorded ? run.bestWeightsFile : run.modelFile;
  // The best weights are not the run's own, so their evaluation is saved under a name of its own.
  const tau = trained.posthocTau;
  const [bestEval, finalEval, bestAdjusted, finalAdjusted] = await evaluateRunModels({ run: folder, split: 'test', groups: GROUP_NAMES, log }, [
    { weights: bestWeights },
    {},
    ...(tau === undefined ? [] : [{ weights: bestWeights, posthocTau: tau }, { posthocTau: tau }]),
  ]);
  const posthoc: CellResult['posthoc'] =
    tau === undefined ? undefined : { tau, final: modelResult(history.at(-1)!.epoch, finalAdjusted!), best: modelResult(bestEpoch, bestAdjusted!) };
  const trainingClips = result.trainingCounts.reduce((a, b) => a + b, 0);
  // What the run's history holds, which is more than --epochs when a longer run was there already.
  const epochs = history.at(-1)!.epoch;
  const cell: CellResult = {
    epochs,
    iterations: epochs * Math.ceil(trainingClips / pipeline.schedule.batchSize),
    learningRates: learningRateChanges(history),
    seconds: history.reduce((sum, r) => sum + r.seconds, 0),
    classes: result.classes,
    trainingCounts: result.trainingCounts,
    final: modelResult(history.at(-1)!.epoch, finalEval!),
    best: modelResult(bestEpoch, bestEval!),
    ...(posthoc ? { posthoc } : {}),
  };
  await writeFileAtomic(path.join(folder, CELL_FILES.result), `${JSON.stringify(cell, null, 2)}\n`);
  return cell;
}
