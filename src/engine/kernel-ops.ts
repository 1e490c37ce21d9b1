import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { kernelsEnabled } from './kernels.js';
import { nativeBackend } from './native-backend.js';
import { projectRoot } from '../util/paths.js';

/**
 * egtea's CPU kernels registered as TensorFlow ops (src/engine/native/tf_ops.cc), built by
 * `egtea engine install` against the engine's libtensorflow. As ops they read TensorFlow's
 * buffers in place and stay single nodes in a recorded step; the N-API route (kernels.ts)
 * copies every input into JavaScript and back, and cannot be recorded.
 */
const KERNEL_OPS_PATH = path.join(projectRoot(), 'src', 'engine', 'native', 'build', 'Release', 'egtea_tf_ops.node');

/** The module's exports: the registered ops' names and a graph built for shape inference only (shape_graph.cc). */
interface KernelOpsModule {
  ops: string[];
  newShapeGraph(): ShapeGraphHandle;
  addShapeNode(graph: ShapeGraphHandle, name: string, op: string, inputs: (string | string[])[], attrs: [string, string, unknown][]): InferredOutput[];
}

/** An opaque TF_Graph, deleted when JavaScript collects the handle. */
export type ShapeGraphHandle = { readonly shapeGraph: unique symbol };

/** An output's TensorFlow dtype and inferred shape: null rank when unknown, -1 per unknown dimension. */
export interface InferredOutput {
  dtype: number;
  shape: number[] | null;
}

let loaded: KernelOpsModule | null | undefined;
let loadError = '';

/** Loads the ops module once (which registers its ops), when the native backend is active; null when it cannot be had. */
function opsModule(): KernelOpsModule | null {
  if (loaded !== undefined) return loaded;
  if (nativeBackend() === null) return null;
  loaded = null;
  if (fs.existsSync(KERNEL_OPS_PATH)) {
    try {
      loaded = createRequire(import.meta.url)(KERNEL_OPS_PATH) as KernelOpsModule;
    } catch (error) {
      loadError = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    }
  } else {
    loadError = `${KERNEL_OPS_PATH} is not built (run: egtea engine install --force)`;
  }
  return loaded;
}

/** Whether egtea's kernels run as TensorFlow ops here (native backend, ops built, kernels enabled). */
export function kernelOpsAvailable(): boolean {
  return kernelsEnabled() && opsModule() !== null;
}

/** Why the ops are not registered ('' when they are, or were never asked for). */
export function kernelOpsError(): string {
  return loadError;
}

/**
 * TensorFlow's shape inference without running anything, from the ops module (null when it is
 * not loaded, or was built before it had this).
 */
export function shapeInference(): Pick<KernelOpsModule, 'newShapeGraph' | 'addShapeNode'> | null {
  const module = opsModule();
  return typeof module?.addShapeNode === 'function' ? module : null;
}
