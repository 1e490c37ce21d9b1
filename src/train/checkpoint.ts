import fs from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { checkFiniteTensors, readSafetensors, writeSafetensors, type StoredTensor } from '../io/safetensors.js';
import type { DifficultyTracker } from '../losses/difficulty-tracker.js';
import type { ClipModel } from '../models/model.js';
import { exportTorchStateDict, importTorchStateDict } from '../models/torch-weights.js';
import { UserError } from '../util/errors.js';
import { pathExists } from '../util/files.js';
import { checkpointFiles, fileDigest, type RunFolder } from '../run/run-folder.js';
import type { Sgd } from './sgd.js';

/** What a run needs to continue after the epoch it last finished, or inside the next one. */
export interface CheckpointState {
  /** The last finished epoch (1-based; 0 when the first epoch is still in progress). */
  epoch: number;
  seed: number;
  tracker: { weights: number[]; rawWeights: number[]; smoothedAccuracy?: (number | null)[] } | null;
  /** Set when saved inside epoch `epoch + 1`: the batches it has trained on and their running loss. */
  partial?: PartialEpoch | null;
}

/** state.json: the state, and the SHA-256 of the weight files it was saved with (checked on load). */
interface SavedState extends CheckpointState {
  sha256?: { weights: string; optimizer: string };
}

export interface PartialEpoch {
  /** Batches finished (the next one to train is this, 0-based). */
  batches: number;
  lossSum: number;
  seen: number;
  seconds: number;
}

/**
 * Saves weights (PyTorch names, running statistics included), the optimizer's momentum and the
 * run state as the run folder's checkpoint. It is written beside the old one and swapped in by
 * renames, so a kill at any moment leaves one whole checkpoint; a full disk leaves the old one
 * and no temporary folder.
 */
export async function saveCheckpoint(run: RunFolder, model: ClipModel, optimizer: Sgd, state: CheckpointState): Promise<void> {
  const final = run.checkpointDir;
  const next = run.nextCheckpointDir;
  const old = run.previousCheckpointDir;
  const files = checkpointFiles(next);
  const momentum = new Map<string, StoredTensor>();
  for (const [name, buffer] of optimizer.state()) momentum.set(name, { shape: buffer.shape, data: buffer.dataSync() as Float32Array });
  await run.guardDiskFull(async () => {
    await fs.rm(next, { recursive: true, force: true });
    await fs.mkdir(next, { recursive: true });
    await writeSafetensors(files.weights, exportTorchStateDict(model.parameters), { format: 'pt', arch: model.arch });
    await writeSafetensors(files.optimizer, momentum);
    const saved: SavedState = { ...state, sha256: { weights: await fileDigest(files.weights), optimizer: await fileDigest(files.optimizer) } };
    await fs.writeFile(files.state, `${JSON.stringify(saved, null, 2)}\n`);
  });
  await fs.rm(old, { recursive: true, force: true });
  if (await pathExists(final)) await fs.rename(final, old);
  await fs.rename(next, final);
  await fs.rm(old, { recursive: true, force: true });
}

/** Loads a checkpoint into the model, optimizer and tracker; returns its state. */
export async function loadCheckpoint(dir: string, model: ClipModel, optimizer: Sgd, tracker: DifficultyTracker | null): Promise<CheckpointState> {
  const files = checkpointFiles(dir);
  const stateFile = files.state;
  let state: SavedState;
  try {
    state = JSON.parse(await fs.readFile(stateFile, 'utf8')) as SavedState;
  } catch (error) {
    throw new UserError(`${stateFile}: not a readable checkpoint state (${(error as Error).message}); rerun with --restart to start over`);
  }
  const partial = state.partial ?? null;
  if (!Number.isInteger(state.epoch) || state.epoch < (partial ? 0 : 1)) throw new UserError(`${stateFile}: 'epoch' is ${JSON.stringify(state.epoch)}`);
  if (partial && !(Number.isInteger(partial.batches) && partial.batches > 0 && Number.isFinite(partial.lossSum) && partial.seen > 0 && partial.seconds >= 0)) {
    throw new UserError(`${stateFile}: 'partial' is not a finished-batch record: ${JSON.stringify(partial)}`);
  }
  // Checkpoints written before egtea recorded checksums have none to check.
  if (state.sha256 !== undefined) {
    for (const which of ['weights', 'optimizer'] as const) {
      if ((await fileDigest(files[which]).catch(() => null)) !== state.sha256[which]) {
        throw new UserError(
          `${files[which]}: not the file this checkpoint was saved with (its SHA-256 differs from the one in ${stateFile}): damaged or replaced since. ` +
            'Restore the checkpoint from a copy to resume; or pass --restart to train from the start, or choose another --out to keep this run as it is',
        );
      }
    }
  }
  const weightsFile = files.weights;
  const weights = await readSafetensors(weightsFile);
  // A checkpoint is only saved after a finite step; NaN here came from elsewhere, and resuming it would diverge again.
  const unusable =
    'this checkpoint cannot be resumed. Restore it from a copy; or pass --restart to train from the start, or choose another --out to keep this run as it is';
  checkFiniteTensors(weights, weightsFile, unusable);
  importTorchStateDict(model.parameters, weights, weightsFile);
  const optimizerFile = files.optimizer;
  const buffers = new Map<string, tf.Tensor>();
  try {
    const momentum = await readSafetensors(optimizerFile);
    checkFiniteTensors(momentum, optimizerFile, unusable);
    for (const [name, stored] of momentum) buffers.set(name, tf.tensor(Float32Array.from(stored.data), stored.shape, 'float32'));
    optimizer.restore(buffers, optimizerFile);
  } catch (error) {
    throw error instanceof UserError ? error : new UserError((error as Error).message);
  } finally {
    tf.dispose([...buffers.values()]);
  }
  if (tracker !== null) {
    if (state.tracker === null || state.tracker.weights.length !== tracker.numClasses)
      throw new UserError(`${stateFile}: no CDB weights for ${tracker.numClasses} classes`);
    tracker.restore(state.tracker.weights, state.tracker.rawWeights, state.tracker.smoothedAccuracy);
  }
  return state;
}
