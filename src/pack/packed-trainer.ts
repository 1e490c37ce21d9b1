import fs from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { GraphStep } from '../engine/graph/graph-step.js';
import { checkpointFiles, RunFolder } from '../run/run-folder.js';
import { lockRunFolder, type RunLock } from '../run/run-lock.js';
import type { PartialEpoch } from '../train/checkpoint.js';
import { learningRateAt } from '../config/pipeline.js';
import {
  beginLossBatch,
  disposeTraining,
  divergence,
  finishEpoch,
  loadRunData,
  microBatches,
  openRunFolder,
  startTraining,
  writeCheckpoint,
  type Training,
  type TrainOptions,
  type TrainResult,
} from '../train/trainer.js';
import { packedTrainStep } from './packed-step.js';

/** One cell of a pack while it trains: the trainer's Training, its result so far, where it resumes. */
interface PackedCell {
  index: number;
  t: Training;
  result: TrainResult;
  lock: RunLock;
  first: number;
  partial: PartialEpoch | null;
}

/** What became of each cell: its result, or the error that stopped it (the others went on). */
export type PackedOutcome = { result: TrainResult } | { error: unknown };

/**
 * Trains several runs in lockstep in one process, their steps as one TensorFlow graph
 * (packed-step.ts): what `train` does for each, with the trainer's own pieces (run folder, lock,
 * resume, loss and difficulty tracker, SGD and its schedule, validation, history, checkpoints),
 * so every run folder ends as `train` leaves it and a run resumes packed or alone alike.
 *
 * Runs step together when they have as many batches per epoch and resume from the same point;
 * others form packs of their own, trained one after another. A run that fails (bad data, a
 * diverging step, a full disk) stops with its message and the rest go on.
 */
export async function trainPacked(runs: readonly TrainOptions[]): Promise<PackedOutcome[]> {
  const outcomes: PackedOutcome[] = runs.map(() => ({ error: new Error('not trained') }));
  const opened: PackedCell[] = [];
  for (const [index, options] of runs.entries()) {
    try {
      opened.push({ index, ...(await openCell(options)) });
    } catch (error) {
      outcomes[index] = { error };
    }
  }
  const packs = new Map<string, PackedCell[]>();
  for (const cell of opened) {
    const t = cell.t;
    // A loss that cannot run in a graph (EQL) would keep its whole pack eager: it packs with its kind.
    const key = JSON.stringify([t.trainLoader.batchCount(), t.p.schedule.epochs, cell.first, cell.partial?.batches ?? 0, t.loss.graphInputs() === null]);
    packs.set(key, [...(packs.get(key) ?? []), cell]);
  }
  for (const pack of packs.values()) await trainPack(pack, outcomes);
  return outcomes;
}

/** Opens a run as `train` does: its data, its folder (locked), resumed or fresh. */
async function openCell(options: TrainOptions): Promise<Omit<PackedCell, 'index'>> {
  const log = options.log ?? (() => {});
  const p = options.pipeline;
  const data = await loadRunData(p, options.dataRoot, log);
  const folder = new RunFolder(options.out);
  await fs.mkdir(folder.dir, { recursive: true });
  const lock = await lockRunFolder(folder.lockFile);
  try {
    const checkpoint = await openRunFolder(folder, options, data);
    // The pack owns the graph of the step.
    const { t, result, first, partial } = await startTraining({ ...options, graphStep: false }, folder, data, checkpoint, log);
    return { t, result, lock, first, partial };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Takes a cell out of its pack with its error; its folder keeps its last checkpoint. */
async function stopCell(cell: PackedCell, error: unknown, live: PackedCell[], outcomes: PackedOutcome[]): Promise<void> {
  outcomes[cell.index] = { error };
  live.splice(live.indexOf(cell), 1);
  disposeTraining(cell.t);
  await cell.lock.release();
}

async function trainPack(pack: PackedCell[], outcomes: PackedOutcome[]): Promise<void> {
  const live = [...pack];
  const first = pack[0]!.first;
  const epochs = pack[0]!.t.p.schedule.epochs;
  const graph = new GraphStep({ onEager: (reason) => live.forEach((c) => c.t.log(`training steps run op by op: ${reason}`)) });
  try {
    for (let epoch = first; epoch <= epochs && live.length > 0; epoch++) {
      const trained = await trainPackedEpoch(live, graph, epoch, epoch === first, outcomes);
      for (const cell of [...live]) {
        try {
          const record = await finishEpoch(cell.t, epoch, trained.get(cell)!);
          cell.result.epochs.push(record);
          cell.t.options.onEpochEnd?.(record);
        } catch (error) {
          await stopCell(cell, error, live, outcomes);
        }
      }
    }
    for (const cell of [...live]) {
      try {
        // The last checkpoint holds the final weights already.
        const finalCheckpoint = await cell.t.folder.findCheckpoint();
        if (finalCheckpoint === null) throw new Error(`${cell.t.folder.dir}: no checkpoint after training`);
        await cell.t.folder.writeModel(checkpointFiles(finalCheckpoint).weights);
        outcomes[cell.index] = { result: cell.result };
        live.splice(live.indexOf(cell), 1);
        disposeTraining(cell.t);
        await cell.lock.release();
      } catch (error) {
        await stopCell(cell, error, live, outcomes);
      }
    }
  } catch (error) {
    // What stopped the pack stops its remaining cells, each keeping its last checkpoint.
    for (const cell of [...live]) await stopCell(cell, error, live, outcomes);
  } finally {
    graph.dispose();
  }
}

/**
 * One epoch of every live cell in lockstep: each step loads every cell's batch (its own images,
 * order and augmentation), tells each loss, and runs the packed step. Returns each cell's running
 * loss and time, as the trainer's trainOneEpoch does.
 */
async function trainPackedEpoch(
  live: PackedCell[],
  graph: GraphStep,
  epoch: number,
  resuming: boolean,
  outcomes: PackedOutcome[],
): Promise<Map<PackedCell, PartialEpoch>> {
  const start = resuming ? (live[0]!.partial?.batches ?? 0) : 0;
  const since = Date.now();
  // A cell's time is its share of the pack's: the epoch's time over the cells that trained in it,
  // so a packed run's seconds (history, result.json) are what it cost, not the pack's wall time.
  const share = live.length;
  const seconds = (carried: number) => carried + (Date.now() - since) / 1000 / share;
  const state = new Map<PackedCell, PartialEpoch>();
  for (const cell of live) {
    const carried = resuming ? cell.partial : null;
    state.set(cell, { batches: start, lossSum: carried?.lossSum ?? 0, seen: carried?.seen ?? 0, seconds: carried?.seconds ?? 0 });
    cell.t.optimizer.learningRate = learningRateAt(cell.t.p.schedule, epoch);
  }
  const batches = live[0]!.t.trainLoader.batchCount();
  const checkpointMs = (live[0]!.t.options.checkpointMinutes ?? 10) * 60_000;
  const iterators = new Map(live.map((cell) => [cell, cell.t.trainLoader.batches(epoch, start)[Symbol.asyncIterator]()]));
  let lastCheckpoint = Date.now();
  try {
    for (let b = start; b < batches && live.length > 0; b++) {
      const loading = [...live];
      const settled = await Promise.allSettled(loading.map(async (cell) => ({ cell, batch: await iterators.get(cell)!.next() })));
      // A cell whose images fail to load (a damaged file) stops with the loader's message.
      for (const [k, s] of settled.entries()) if (s.status === 'rejected') await stopCell(loading[k]!, s.reason, live, outcomes);
      const loaded = settled
        .flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
        .map(({ cell, batch }) => {
          if (batch.done) throw new Error(`${cell.t.folder.dir}: the loader ended at batch ${b} of ${batches}`);
          return { cell, batch: batch.value };
        });
      if (loaded.length === 0) break;
      const cells = loaded.map((l) => l.cell);
      const parts = loaded.map(({ cell, batch }) => {
        beginLossBatch(cell.t, epoch, b);
        return microBatches(batch.clips, batch.labels, cell.t.p.schedule.accumulation);
      });
      let outcomesOfStep;
      try {
        outcomesOfStep = packedTrainStep(
          cells.map((c) => c.t),
          parts,
          graph,
        );
      } finally {
        for (const p of parts) if (p.length > 1) tf.dispose(p.flatMap((m) => [m.clips, m.labels]));
      }
      const mode = graph.state();
      for (const c of cells) {
        if (mode.mode !== 'graph' || c.t.graphAnnounced) continue;
        c.t.graphAnnounced = true;
        c.t.log(`training steps now run as one TensorFlow graph with ${cells.length - 1} other runs (${mode.nodes} nodes)`);
      }
      for (const [k, cell] of cells.entries()) {
        const outcome = outcomesOfStep[k]!;
        if ('nonFinite' in outcome) {
          await iterators.get(cell)!.return?.(undefined);
          await stopCell(cell, divergence(cell.t, `epoch ${epoch}, batch ${b + 1}`, outcome.nonFinite, 'step'), live, outcomes);
          continue;
        }
        const s = state.get(cell)!;
        const clips = loaded[k]!.batch.names.length;
        s.lossSum += outcome.loss * clips;
        s.seen += clips;
        s.batches = b + 1;
        if (b + 1 === batches || (b + 1) % Math.max(1, Math.round(batches / 5)) === 0) {
          cell.t.log(
            `epoch ${epoch}/${cell.t.p.schedule.epochs}: batch ${b + 1}/${batches}, loss ${(s.lossSum / s.seen).toFixed(4)} (packed with ${cells.length - 1} other runs)`,
          );
        }
      }
      if (b + 1 < batches && Date.now() - lastCheckpoint >= checkpointMs) {
        for (const cell of [...live]) {
          const s = state.get(cell)!;
          await writeCheckpoint(cell.t, epoch - 1, { ...s, seconds: seconds(s.seconds) }).catch((error: unknown) => stopCell(cell, error, live, outcomes));
        }
        lastCheckpoint = Date.now();
      }
      for (const { cell, batch } of loaded) {
        if (!live.includes(cell)) continue;
        cell.t.options.onBatchEnd?.(epoch, b + 1);
        cell.t.options.onProgress?.({ phase: 'train', epoch, batch: b + 1, batches, clips: batch.names.length });
      }
    }
  } finally {
    for (const iterator of iterators.values()) await iterator.return?.(undefined);
  }
  return new Map([...state].map(([cell, s]) => [cell, { ...s, seconds: seconds(s.seconds) }]));
}
