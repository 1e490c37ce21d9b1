import * as tf from '@tensorflow/tfjs';
import { floatAttr, nativeBackend, stringAttr, type NativeBackend } from '../engine/native-backend.js';
import { UserError } from '../util/errors.js';
import { encodeServerDef, taskName } from './server-def.js';

/** The binding functions egtea's patch adds for collectives (bin/binding-patch/collectives.cc). */
interface CollectiveBinding {
  enableCollectives?(serverDef: Uint8Array): string;
  checkCollectivePeer?(task: string, timeoutMs: number): void;
  abortCollectives?(message: string): void;
}

function collectiveBinding(backend: NativeBackend): CollectiveBinding & NativeBackend['binding'] {
  return backend.binding as CollectiveBinding & NativeBackend['binding'];
}

/** How a process takes part in data-parallel training. */
export interface WorkerRole {
  /** Every worker's host:port, task order (task 0 is the chief). */
  addresses: string[];
  task: number;
  /** Seconds a collective waits for its peers before it fails (a dead or stuck worker). */
  timeoutSeconds: number;
}

let enabled: WorkerRole | null = null;

/**
 * Starts this task's TensorFlow gRPC server and turns collective ops on in the eager context
 * (TFE_EnableCollectiveOps): once per process, before the step makes any tensor. Returns the
 * device new tensors are placed on (/job:worker/replica:0/task:K/device:...).
 */
export function enableCollectives(role: WorkerRole): string {
  if (enabled !== null) throw new Error(`collectives are already on (task ${enabled.task})`);
  const backend = nativeBackend();
  if (backend === null) throw new UserError('distributed training needs the native TensorFlow engine (egtea engine install); --backend cpu cannot run it');
  const binding = collectiveBinding(backend);
  if (!binding.enableCollectives) throw new UserError("the tfjs binding lacks egtea's collectives patch; run: egtea engine install --force");
  let device: string;
  try {
    device = binding.enableCollectives(encodeServerDef(role.addresses, role.task));
  } catch (error) {
    throw new UserError(`task ${role.task}: TensorFlow could not start its server at ${role.addresses[role.task]}: ${(error as Error).message}`);
  }
  enabled = role;
  return device;
}

/** The role collectives were enabled with in this process, or null. */
export function collectiveRole(): WorkerRole | null {
  return enabled;
}

/**
 * All-reduces among the workers of one group with TensorFlow's CollectiveReduceV2. Every worker
 * must issue the same collectives in the same order: instance keys are counted per group, so
 * the k-th call on each worker meets the k-th call on the others. Called inside a recorded
 * graph step, the op (and its key, as a constant) becomes part of the step's function; TensorFlow
 * tells repeated calls of a function apart by their step, as tf.function's collectives rely on.
 */
export class CollectiveGroup {
  private nextInstance = 1;

  constructor(
    readonly groupSize: number,
    readonly groupKey: number,
    private readonly timeoutSeconds: number,
  ) {}

  /** Element-wise mean over the workers (merge Add, final Div). */
  mean(x: tf.Tensor): tf.Tensor {
    return this.reduce(x, 'Div');
  }

  /** Element-wise sum over the workers (merge Add, final Id). */
  sum(x: tf.Tensor): tf.Tensor {
    return this.reduce(x, 'Id');
  }

  private reduce(x: tf.Tensor, finalOp: 'Div' | 'Id'): tf.Tensor {
    if (this.groupSize === 1) return finalOp === 'Div' ? tf.clone(x) : tf.clone(x);
    const backend = nativeBackend();
    if (backend === null) throw new Error('collectives need the native TensorFlow engine');
    const instanceKey = this.nextInstance++;
    // Scalars made here become constants of a recorded step; executeSingleOutput goes through
    // the binding, so a recording sees the op.
    return tf.tidy(() => {
      const scalars = [tf.scalar(this.groupSize, 'int32'), tf.scalar(this.groupKey, 'int32'), tf.scalar(instanceKey, 'int32')];
      return backend.executeSingleOutput(
        'CollectiveReduceV2',
        [
          { name: 'T', type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT },
          stringAttr(backend, 'merge_op', 'Add'),
          stringAttr(backend, 'final_op', finalOp),
          stringAttr(backend, 'communication_hint', 'auto'),
          floatAttr(backend, 'timeout_seconds', this.timeoutSeconds),
          { name: 'Nordering_token', type: backend.binding.TF_ATTR_INT, value: 0 },
          { name: 'max_subdivs_per_device', type: backend.binding.TF_ATTR_INT, value: -1 },
        ],
        [x, ...scalars],
      );
    });
  }
}

/** Asks every other task whether it still answers; throws a UserError naming the first that does not. */
export function checkPeers(role: WorkerRole, timeoutMs: number): void {
  const backend = nativeBackend();
  const binding = backend ? collectiveBinding(backend) : null;
  if (!binding?.checkCollectivePeer) return;
  role.addresses.forEach((address, task) => {
    if (task === role.task) return;
    try {
      binding.checkCollectivePeer!(taskName(task), timeoutMs);
    } catch (error) {
      throw new UserError(`worker ${task} (${address}) does not answer: ${(error as Error).message}`);
    }
  });
}
