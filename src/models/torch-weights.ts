import * as tf from '@tensorflow/tfjs-core';
import { readPth } from '../io/pth.js';
import { readSafetensors, type StoredTensor } from '../io/safetensors.js';
import { UserError } from '../util/errors.js';
import type { Parameters, TorchLayout } from './parameters.js';

// PyTorch layout -> TensorFlow.js layout, as a transpose permutation.
const FROM_TORCH: Record<Exclude<TorchLayout, object>, number[] | null> = {
  conv3d: [2, 3, 4, 1, 0], // [out, in/g, kt, kh, kw] -> [kt, kh, kw, in/g, out]
  conv2d: [2, 3, 1, 0], // [out, in, kh, kw] -> [kh, kw, in, out]
  linear: [1, 0], // [out, in] -> [in, out]
  vector: null,
};

// A flattened map's linear weight: [out, C*H*W] viewed as [out, C, H, W] -> [H, W, C, out].
const MAP_FROM_TORCH = [2, 3, 1, 0];

function inverse(permutation: number[]): number[] {
  const result = new Array<number>(permutation.length);
  permutation.forEach((p, i) => (result[p] = i));
  return result;
}

function torchShape(shape: number[], layout: TorchLayout): number[] {
  const permutation = typeof layout === 'object' ? FROM_TORCH.linear : FROM_TORCH[layout];
  return permutation ? inverse(permutation).map((axis) => shape[axis]!) : [...shape];
}

/** A tensor in PyTorch's layout, rearranged into the model's. */
function fromTorch(t: tf.Tensor, layout: TorchLayout): tf.Tensor {
  if (typeof layout !== 'object') {
    const permutation = FROM_TORCH[layout];
    return permutation ? tf.transpose(t, permutation) : t.clone();
  }
  const { height, width, channels } = layout;
  const out = t.shape[0]!;
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(t, [out, channels, height, width]), MAP_FROM_TORCH), [height * width * channels, out]));
}

/** A model tensor rearranged into PyTorch's layout. */
function toTorch(t: tf.Tensor, layout: TorchLayout): tf.Tensor {
  if (typeof layout !== 'object') {
    const permutation = FROM_TORCH[layout];
    return permutation ? tf.transpose(t, inverse(permutation)) : t.clone();
  }
  const { height, width, channels } = layout;
  const out = t.shape[1]!;
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(t, [height, width, channels, out]), inverse(MAP_FROM_TORCH)), [out, channels * height * width]));
}

export interface ImportReport {
  loaded: string[];
  /** Head parameters left at their fresh initialisation because the class count differs. */
  replacedHead: string[];
  /** Tensors in the file that the model has no place for (BN's num_batches_tracked is ignored silently). */
  unused: string[];
}

/**
 * Loads a PyTorch state dict (as read from safetensors) into a model's parameters. With
 * `replaceHead`, parameters under `headPrefix` whose shape differs keep their initialisation,
 * as when fine-tuning Kinetics weights for 19 classes.
 */
export function importTorchStateDict(
  params: Parameters,
  tensors: Map<string, StoredTensor>,
  source: string,
  options: { headPrefix?: string; replaceHead?: boolean } = {},
): ImportReport {
  const report: ImportReport = { loaded: [], replacedHead: [], unused: [] };
  const missing = params.list().filter((e) => !tensors.has(e.name) && !tensors.has(`module.${e.name}`));
  if (missing.length > 0) {
    const names = missing.map((e) => e.name);
    throw new UserError(
      `${source}: missing tensor '${names[0]}'${names.length > 1 ? ` and ${names.length - 1} more (${names.slice(1, 6).join(', ')}${names.length > 6 ? ', ...' : ''})` : ''}`,
    );
  }
  const isHead = (name: string) => options.headPrefix !== undefined && name.startsWith(`${options.headPrefix}.`);
  const assignments: [tf.Variable, tf.Tensor][] = [];
  try {
    for (const entry of params.list()) {
      const stored = tensors.get(entry.name) ?? tensors.get(`module.${entry.name}`)!;
      const expected = torchShape(entry.variable.shape, entry.layout);
      const matches = stored.shape.length === expected.length && stored.shape.every((d, i) => d === expected[i]);
      if (!matches) {
        if (options.replaceHead && isHead(entry.name)) {
          report.replacedHead.push(entry.name);
          continue;
        }
        throw new UserError(`${source}: tensor '${entry.name}' has shape [${stored.shape.join(', ')}]; the model needs [${expected.join(', ')}]`);
      }
      const value = tf.tidy(() => fromTorch(tf.tensor(Float32Array.from(stored.data), stored.shape, 'float32'), entry.layout));
      assignments.push([entry.variable, value]);
      report.loaded.push(entry.name);
    }
    // Assign only once every tensor has passed its checks: a bad file changes nothing.
    for (const [variable, value] of assignments) variable.assign(value);
  } finally {
    tf.dispose(assignments.map(([, value]) => value));
  }
  const known = new Set(params.list().flatMap((e) => [e.name, `module.${e.name}`]));
  report.unused = [...tensors.keys()].filter((name) => !known.has(name) && !name.endsWith('num_batches_tracked'));
  return report;
}

/** The model's parameters as a PyTorch state dict (float32, PyTorch layouts). */
export function exportTorchStateDict(params: Parameters): Map<string, StoredTensor> {
  const out = new Map<string, StoredTensor>();
  for (const entry of params.list()) {
    const value = toTorch(entry.variable, entry.layout);
    out.set(entry.name, { shape: value.shape, data: value.dataSync() as Float32Array });
    value.dispose();
  }
  return out;
}

/** How a state dict fits a model, without loading anything. Names are the model's. */
export interface StateDictMatch {
  /** In both, same shape. */
  matched: string[];
  /** The model has them, the file does not. */
  missing: string[];
  /** The file has them, the model does not (BN's num_batches_tracked aside). */
  extra: string[];
  /** In both, shapes differ (outside the head). */
  mismatched: { name: string; file: number[]; model: number[] }[];
  /** The head's tensors whose shape differs: a different class count, so training starts a fresh head. */
  head: { name: string; file: number[]; model: number[] }[];
}

export function matchStateDict(params: Parameters, tensors: Map<string, StoredTensor>, headPrefix: string): StateDictMatch {
  const result: StateDictMatch = { matched: [], missing: [], extra: [], mismatched: [], head: [] };
  const known = new Set<string>();
  for (const entry of params.list()) {
    known.add(entry.name);
    const stored = tensors.get(entry.name) ?? tensors.get(`module.${entry.name}`);
    if (!stored) {
      result.missing.push(entry.name);
      continue;
    }
    const expected = torchShape(entry.variable.shape, entry.layout);
    if (stored.shape.length === expected.length && stored.shape.every((d, i) => d === expected[i])) result.matched.push(entry.name);
    else (entry.name.startsWith(`${headPrefix}.`) ? result.head : result.mismatched).push({ name: entry.name, file: [...stored.shape], model: expected });
  }
  result.extra = [...tensors.keys()].filter((name) => !known.has(name.replace(/^module\./, '')) && !name.endsWith('num_batches_tracked'));
  return result;
}

const PTH_EXTENSIONS = ['.pth', '.pt', '.tar', '.ckpt'];

/** A weights file as a PyTorch-named state dict: safetensors, or a torch.save checkpoint by its extension. */
export async function readWeightsFile(file: string): Promise<Map<string, StoredTensor>> {
  return PTH_EXTENSIONS.some((e) => file.toLowerCase().endsWith(e)) ? readPth(file) : readSafetensors(file);
}
