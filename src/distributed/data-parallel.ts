import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors.js';
import { CollectiveGroup, type WorkerRole } from './collectives.js';
import { batchShare, type BatchShare } from './shard.js';

/** Instance keys of the collectives egtea issues, by purpose (see CollectiveGroup). */
export const INSTANCE_KEYS = {
  /** The first agreement check between workers (gathered numbers); check i uses check + i. */
  check: 1_000_000,
  /** Validation scores, gathered. */
  validation: 11,
  /** The first buffer of a step's all-reduce; buffer i uses gradients + i. */
  gradients: 1000,
} as const;

/**
 * Micro-batches each of `workers` workers trains per step: the pipeline's accumulation spread
 * over them (rounded up, so every worker has at least one). The run then trains as one process
 * accumulating workers x that many micro-batches; the pipeline itself is unchanged, so a run
 * resumes with any number of workers.
 */
export function workerAccumulation(accumulation: number, workers: number): number {
  return Math.max(1, Math.ceil(accumulation / workers));
}

/** Where a batch-norm running statistic stood when the step began, and how it decays per update. */
export interface RunningStart {
  start: tf.Tensor;
  decay: number;
  /** Updates this worker made to it in the step (one per micro-batch). */
  updates: number;
}

/** What one worker's micro-batches produced, before the workers combine it. */
export interface LocalStep {
  /** Trainable variables, in order, with the sums of their gradients over this worker's micro-batches (null: it had none). */
  variables: tf.Variable[];
  gradientSums: tf.Tensor[] | null;
  lossTotal: tf.Scalar | null;
  /** Every non-trainable variable (batch-norm running statistics): the same list on every worker. */
  running: tf.Variable[];
  runningStarts: ReadonlyMap<tf.Variable, RunningStart>;
}

/** A worker's part of one global batch, and how its step joins the others'. */
export interface StepShare {
  share: BatchShare;
  /**
   * What sets this worker's step apart from the others', as a tensor the step is fed (the caller
   * disposes it): [1 on the chief, else 0; the micro-batches after this worker's]. Inside a graph
   * step a JavaScript number becomes a constant, so each worker's graph would differ, and
   * TensorFlow rounded the identical updates of the differing graphs differently (by an ulp, in
   * some elements): the workers' weights drifted apart, and a resumed run, whose workers all
   * load the chief's, trained differently from an uninterrupted one. Fed as an input, it leaves
   * every worker the same graph.
   */
  role: tf.Tensor1D;
  /**
   * The gradients and loss of the whole batch (means over all its micro-batches, as one process
   * accumulating them computes), identical on every worker; assigns the running statistics their
   * value after every micro-batch of the batch, in batch order.
   */
  combine(local: LocalStep): { gradients: tf.Tensor[]; loss: tf.Scalar };
}

/**
 * One worker of synchronous data-parallel training. Each step it trains on its share of the
 * global batch and all-reduces, in a few flat buffers, everything the update needs:
 *  - gradient sums and loss divided by the batch's micro-batch count, summed over workers: the
 *    single process's mean over micro-batches;
 *  - batch-norm running statistics. Normalisation uses each worker's own batch statistics (as
 *    PyTorch's DataParallel, and as one process's micro-batches do). The running averages are
 *    affine in their start r: after this worker's u updates, r_k = a^u r + b_k. The single
 *    process applies every micro-batch in turn, so its result is a^P r + sum_k a^(after_k) b_k,
 *    with `after_k` the micro-batches after worker k's: each worker sends a^(after_k)(r_k - a^u r)
 *    and the chief adds a^P r. Every worker ends with that value.
 */
export class DataParallelWorker {
  readonly group: CollectiveGroup;
  /** A key serves collectives of one shape only: each check, of any length, takes a new one. */
  private checks = 0;

  constructor(
    readonly role: WorkerRole,
    readonly accumulation: number,
    /** Elements per all-reduce buffer at most (64 MB of float32 by default). */
    private readonly bufferElements = 16 * 1024 * 1024,
  ) {
    this.group = new CollectiveGroup(role.addresses.length, 1, role.timeoutSeconds);
  }

  get task(): number {
    return this.role.task;
  }

  get workers(): number {
    return this.role.addresses.length;
  }

  /** Task 0 writes the run folder (checkpoints, history, reports); the others only train. */
  get chief(): boolean {
    return this.role.task === 0;
  }

  share(n: number): BatchShare {
    return batchShare(n, this.workers, this.accumulation, this.task);
  }

  stepShare(n: number): StepShare {
    const share = this.share(n);
    const role = tf.tensor1d([this.chief ? 1 : 0, share.partsAfter]);
    return { share, role, combine: (local) => this.combine(share, role, local) };
  }

  private combine(share: BatchShare, role: tf.Tensor1D, local: LocalStep): { gradients: tf.Tensor[]; loss: tf.Scalar } {
    const total = share.totalParts;
    const contributions = tf.tidy(() => {
      const [chief, partsAfter] = tf.unstack(role) as [tf.Scalar, tf.Scalar];
      const gradients = local.variables.map((v, i) => (local.gradientSums ? tf.div(local.gradientSums[i]!, total) : tf.zerosLike(v)));
      const loss = local.lossTotal ? tf.div(local.lossTotal, total) : tf.scalar(0);
      const running = local.running.map((v) => {
        const start = local.runningStarts.get(v);
        // Not updated in the step: the chief's value, zeros from the others.
        if (start === undefined) return tf.mul(v, chief);
        if (start.updates !== share.parts) throw new Error(`${v.name}: ${start.updates} running-statistics updates in ${share.parts} micro-batches`);
        const own = tf.mul(tf.sub(v, tf.mul(start.start, start.decay ** start.updates)), tf.pow(tf.scalar(start.decay), partsAfter));
        return tf.add(own, tf.mul(start.start, tf.mul(chief, start.decay ** total)));
      });
      return [...gradients, loss, ...running];
    });
    const summed = this.sumAcrossWorkers(contributions);
    tf.dispose(contributions);
    const gradients = summed.slice(0, local.variables.length);
    const loss = summed[local.variables.length] as tf.Scalar;
    local.running.forEach((v, i) => {
      const value = summed[local.variables.length + 1 + i]!;
      v.assign(value);
      value.dispose();
    });
    return { gradients, loss };
  }

  /** Sums tensors over the workers, packed into flat buffers of at most bufferElements each. */
  private sumAcrossWorkers(tensors: tf.Tensor[]): tf.Tensor[] {
    const buffers: tf.Tensor[][] = [];
    let size = 0;
    for (const t of tensors) {
      if (buffers.length === 0 || (size + t.size > this.bufferElements && size > 0)) {
        buffers.push([]);
        size = 0;
      }
      buffers.at(-1)!.push(t);
      size += t.size;
    }
    return buffers.flatMap((buffer, i) =>
      tf.tidy(() => {
        const flat = tf.concat(buffer.map((t) => tf.reshape(t, [-1])));
        const summed = this.group.sum(flat, INSTANCE_KEYS.gradients + i);
        const parts = tf.split(
          summed,
          buffer.map((t) => t.size),
        );
        return parts.map((p, j) => tf.reshape(p, buffer[j]!.shape));
      }),
    );
  }

  /**
   * Stops every worker with one message when they do not hold the same `values` (the epoch they
   * resume from, CDB's weights): each sees every worker's values, compared exactly with the chief's.
   */
  agree(what: string, values: readonly number[], advice = ''): void {
    const all = this.group.gather(toHalfWords(values), this.task, INSTANCE_KEYS.check + this.checks++).map(fromHalfWords);
    const differing = all.map((row, k) => (row.every((v, i) => Object.is(v, all[0]![i]!)) ? -1 : k)).filter((k) => k >= 0);
    if (differing.length > 0) {
      throw new UserError(
        `workers disagree on ${what}: task 0 has [${all[0]!.join(', ')}], ${differing.map((k) => `task ${k} has [${all[k]!.join(', ')}]`).join('; ')}${advice}`,
      );
    }
  }

  /**
   * Stops every worker when their training state (`tensors`: weights, running statistics,
   * momentum) is not bit for bit the chief's. Every worker applies the same all-reduced step
   * through the same graph, so they can only drift apart through a defect; a drifted worker
   * would train on other weights than those the chief checkpoints, and a resumed run (every
   * worker loads the chief's) would then differ from an uninterrupted one.
   */
  agreeOnState(what: string, tensors: readonly tf.Tensor[]): void {
    this.agree(
      what,
      [stateDigest(tensors)],
      " (a digest of every weight, running statistic and momentum buffer). This is a defect of egtea, please report it; the last checkpoint holds the chief's state, and rerunning the same command resumes from it on every worker",
    );
  }
}

/** 48 bits of a SHA-256 of the tensors' bytes, as a number float64 holds exactly. */
function stateDigest(tensors: readonly tf.Tensor[]): number {
  const hash = createHash('sha256');
  for (const t of tensors) {
    const data = t.dataSync();
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest().readUIntBE(0, 6);
}

/** Each float64 as its four 16-bit words, which float32 (the collectives' type) holds exactly. */
function toHalfWords(values: readonly number[]): number[] {
  return Array.from(new Uint16Array(Float64Array.from(values).buffer));
}

function fromHalfWords(words: readonly number[]): number[] {
  return Array.from(new Float64Array(Uint16Array.from(words).buffer));
}
