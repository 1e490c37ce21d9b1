import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { evaluateRun, GROUP_NAMES, type RunEvaluation } from '../eval/evaluate-run.js';
import type { SummaryMetrics } from '../metrics/metrics.js';
import type { Pipeline } from '../config/pipeline.js';
import { validatePipeline } from '../config/pipeline.js';
import { RunFolder } from '../run/run-folder.js';
import { train, type EpochRecord } from '../train/trainer.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';

/** cell.json: what the sweep asks one run folder to do. */
export interface CellOrder {
  pipeline: Pipeline;
  dataRoot: string;
}

/** The test results of one model of a run. */
export interface ModelResult {
  epoch: number;
  overall: SummaryMetrics;
  groups: Record<string, SummaryMetrics>;
  perClassAccuracy: (number | null)[];
}

/** result.json: a finished cell. Its presence is what makes a rerun skip the cell. */
export interface CellResult {
  epochs: number;
  iterations: number;
  seconds: number;
  classes: string[];
  trainingCounts: number[];
  /** The weights after the last epoch (what the paper reports). */
  final: ModelResult;
  /** The weights of the epoch with the best validation macro recall (the earliest on ties). */
  best: ModelResult;
}

export const CELL_FILES = { order: 'cell.json', result: 'result.json', bestWeights: 'best.safetensors', best: 'best.json', log: 'run.log' } as const;

/** A cell's result.json when it holds a run of `epochs` epochs (a larger --epochs extends the run). */
export async function readCellResult(folder: string, epochs: number): Promise<CellResult | null> {
  const text = await fs.readFile(path.join(folder, CELL_FILES.result), 'utf8').catch(() => null);
  if (text === null) return null;
  const result = JSON.parse(text) as CellResult;
  return result.epochs === epochs ? result : null;
}

interface BestEpoch {
  epoch: number;
  macroRecall: number;
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
  const groups = Object.fromEntries(GROUP_NAMES.flatMap((name) => {
    const g = evaluation.groups[name];
    return g ? [[name, { samples: g.samples, top1: g.top1, top5: g.top5, macroRecall: g.macroRecall, macroPrecision: g.macroPrecision }]] : [];
  }));
  return { epoch, overall: { samples, top1, top5, macroRecall, macroPrecision }, groups, perClassAccuracy: evaluation.perClass.map((c) => c.accuracy) };
}

/**
 * Trains and evaluates one cell in its folder: the run folder `egtea train` would write, plus the
 * weights of the best validation epoch, both models' test results and result.json. Started again
 * after a kill, training resumes from its checkpoint.
 */
export async function runCell(folder: string, log: (line: string) => void = () => {}): Promise<CellResult> {
  const orderFile = path.join(folder, CELL_FILES.order);
  if (!(await pathExists(orderFile))) throw new UserError(`${orderFile}: missing; this folder was not made by egtea sweep`);
  const order = JSON.parse(await fs.readFile(orderFile, 'utf8')) as CellOrder;
  const pipeline = validatePipeline(order.pipeline, orderFile);
  const bestFile = path.join(folder, CELL_FILES.best);
  // On resume, the best so far is the one recorded with its weights; a fresh run forgets any.
  if ((await new RunFolder(folder).findCheckpoint()) === null) {
    for (const stale of [CELL_FILES.best, CELL_FILES.bestWeights]) await fs.rm(path.join(folder, stale), { force: true });
  }
  let best = (JSON.parse(await fs.readFile(bestFile, 'utf8').catch(() => 'null')) as BestEpoch | null) ?? null;
  const result = await train({
    pipeline,
    dataRoot: order.dataRoot,
    out: folder,
    log,
    onEpochEnd: (record) => {
      const value = record.validation.macroRecall ?? -1;
      if (best !== null && value <= best.macroRecall) return;
      best = { epoch: record.epoch, macroRecall: value };
      saveBest(folder, best);
    },
  });
  const history = await new RunFolder(folder).readHistory<EpochRecord>();
  const expected = bestOf(history);
  if (expected === null) throw new Error(`${folder}: no epochs in history.jsonl after training`);
  const recorded = JSON.parse(await fs.readFile(bestFile, 'utf8').catch(() => 'null')) as BestEpoch | null;
  if (recorded?.epoch !== expected.epoch) {
    // A kill between an epoch's checkpoint and its best-weights copy: only the final model is known.
    log(`warning: the weights of best epoch ${expected.epoch} were not kept (a kill at that epoch's end); reporting epoch ${recorded?.epoch ?? 'none'} as best`);
  }
  const bestEpoch = recorded?.epoch ?? history.at(-1)!.epoch;
  const bestWeights = recorded ? path.join(folder, CELL_FILES.bestWeights) : new RunFolder(folder).modelFile;
  // The best weights are not the run's own, so their evaluation is saved under a name of its own.
  const bestEval = await evaluateRun({ run: folder, split: 'test', groups: GROUP_NAMES, weights: bestWeights, log });
  const finalEval = await evaluateRun({ run: folder, split: 'test', groups: GROUP_NAMES, log });
  const trainingClips = result.trainingCounts.reduce((a, b) => a + b, 0);
  const cell: CellResult = {
    epochs: pipeline.schedule.epochs,
    iterations: pipeline.schedule.epochs * Math.ceil(trainingClips / pipeline.schedule.batchSize),
    seconds: history.reduce((sum, r) => sum + r.seconds, 0),
    classes: result.classes,
    trainingCounts: result.trainingCounts,
    final: modelResult(history.at(-1)!.epoch, finalEval),
    best: modelResult(bestEpoch, bestEval),
  };
  await writeFileAtomic(path.join(folder, CELL_FILES.result), `${JSON.stringify(cell, null, 2)}\n`);
  return cell;
}

/**
 * The checkpoint just written holds this epoch's weights: keep a copy, then record which epoch it
 * is. Synchronous, so the next epoch cannot replace the checkpoint while it is copied.
 */
function saveBest(folder: string, best: BestEpoch): void {
  const target = path.join(folder, CELL_FILES.bestWeights);
  fsSync.copyFileSync(path.join(new RunFolder(folder).checkpointDir, 'weights.safetensors'), `${target}.next`);
  fsSync.renameSync(`${target}.next`, target);
  const record = path.join(folder, CELL_FILES.best);
  fsSync.writeFileSync(`${record}.next`, `${JSON.stringify(best)}\n`);
  fsSync.renameSync(`${record}.next`, record);
}
