import * as tf from '@tensorflow/tfjs-core';
import { bindingDevice, collectiveCommunication } from '../engine/dispatch.js';
import { floatAttr, nativeBackend, stringAttr, type NativeBackend } from '../engine/native-backend.js';
import { UserError } from '../util/errors.js';
import { encodeServerDef, taskName } from './server-def.js';

/** The binding functions egtea's patch adds for collectives (bin/binding-patch/collectives.cc). */
interface CollectiveBinding {
  enableCollectives?(serverDef: Uint8Array): string;
  checkCollectivePeer?(task: string, timeoutMs: number): void;
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

/**
 * All-reduces among the workers of one group with TensorFlow's CollectiveReduceV2. Every worker
 * issues the same collectives in the same order, each under an instance key its caller names
 * for its purpose (the gradient buffer i of a step, say). A key may be used again by a later
 * collective of the same shape (TensorFlow keeps the shape it first saw) once the earlier one finished: TensorFlow tells them apart, eagerly and across
 * calls of a function (tf.function's collectives keep their keys as constants too). Inside a
 * recorded graph step the op becomes a node of the step's function.
 */
export class CollectiveGroup {
  constructor(
    readonly groupSize: number,
    readonly groupKey: number,
    readonly timeoutSeconds: number,
  ) {}

  /** Element-wise sum over the workers (merge Add, final Id). */
  sum(x: tf.Tensor, instanceKey: number): tf.Tensor {
    return this.reduce(x, 'Id', instanceKey);
  }

  /** Element-wise mean over the workers (merge Add, final Div). */
  mean(x: tf.Tensor, instanceKey: number): tf.Tensor {
    return this.reduce(x, 'Div', instanceKey);
  }

  /**
   * Every worker's `values` (same length on each), by task: each worker fills its own row of a
   * zero matrix and the rows are summed, which adds only zeros to each value (exact).
   */
  gather(values: readonly number[], task: number, instanceKey: number): number[][] {
    const width = values.length;
    const rows = new Float32Array(this.groupSize * width);
    rows.set(values, task * width);
    const local = tf.tensor1d(rows);
    const all = this.sum(local, instanceKey);
    const data = all.dataSync();
    tf.dispose([local, all]);
    return Array.from({ length: this.groupSize }, (_, k) => Array.from(data.subarray(k * width, (k + 1) * width)));
  }

  private reduce(x: tf.Tensor, finalOp: 'Div' | 'Id', instanceKey: number): tf.Tensor {
    if (this.groupSize === 1) return tf.clone(x);
    const backend = nativeBackend();
    if (backend === null) throw new Error('collectives need the native TensorFlow engine');
    // The scalars become constants of a recorded step; executeSingleOutput goes through the
    // binding, so a recording sees the op.
    return tf.tidy(() => {
      const scalars = [tf.scalar(this.groupSize, 'int32'), tf.scalar(this.groupKey, 'int32'), tf.scalar(instanceKey, 'int32')];
      return backend.executeSingleOutput(
        'CollectiveReduceV2',
        [
          { name: 'T', type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT },
          stringAttr(backend, 'merge_op', 'Add'),
          stringAttr(backend, 'final_op', finalOp),
          stringAttr(backend, 'communication_hint', collectiveCommunication(bindingDevice())),
          floatAttr(backend, 'timeout_seconds', this.timeoutSeconds),
          { name: 'Nordering_token', type: backend.binding.TF_ATTR_INT, value: 0 },
          { name: 'max_subdivs_per_device', type: backend.binding.TF_ATTR_INT, value: -1 },
        ],
        [x, ...scalars],
      );
    });
  }
}

/**
 * The first other task that does not answer TensorFlow's health check within `timeoutMs`
 * (TFE_CollectiveOpsCheckPeerHealth), or undefined when all do: names the culprit when a
 * collective failed without saying who (a timeout).
 */
export function unansweringPeer(role: WorkerRole, timeoutMs: number): number | undefined {
  const backend = nativeBackend();
  const binding = backend ? collectiveBinding(backend) : null;
  if (!binding?.checkCollectivePeer) return undefined;
  for (let task = 0; task < role.addresses.length; task++) {
    if (task === role.task) continue;
    try {
      binding.checkCollectivePeer(taskName(task), timeoutMs);
    } catch {
      return task;
    }
  }
  return undefined;
}
