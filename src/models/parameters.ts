import * as tf from '@tensorflow/tfjs-core';
import { hashString } from '../util/random.js';

/**
 * How a parameter is laid out in PyTorch, so weights can be imported and exported under
 * PyTorch state-dict names: conv filters and linear weights are transposed on the way.
 */
export type TorchLayout = 'conv3d' | 'conv2d' | 'linear' | 'vector' | FlattenedMapLayout;

/**
 * A linear layer fed by a flattened [H, W, C] feature map. PyTorch flattens channels-first, so its
 * rows are reordered on the way in and out, and the forward pass flattens without a transpose.
 */
export interface FlattenedMapLayout {
  kind: 'linear-after-flatten';
  height: number;
  width: number;
  channels: number;
}

export interface ParameterEntry {
  name: string;
  variable: tf.Variable;
  trainable: boolean;
  layout: TorchLayout;
}

/** The named variables of one model, under the names PyTorch gives them. */
export class Parameters {
  private readonly entries = new Map<string, ParameterEntry>();

  constructor(readonly seed: number) {}

  /** A seed for one parameter's initialiser: the same name gets the same values for the same model seed. */
  seedFor(name: string): number {
    return hashString(`${this.seed}/${name}`);
  }

  add(name: string, value: tf.Tensor, layout: TorchLayout, trainable = true): tf.Variable {
    if (this.entries.has(name)) throw new Error(`parameter '${name}' defined twice`);
    // No tfjs variable name: tfjs names are global, and two models may share ours.
    const variable = tf.variable(value, trainable);
    value.dispose();
    this.entries.set(name, { name, variable, trainable, layout });
    return variable;
  }

  get(name: string): ParameterEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no parameter '${name}'`);
    return entry;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  list(): ParameterEntry[] {
    return [...this.entries.values()];
  }

  trainable(): ParameterEntry[] {
    return this.list().filter((e) => e.trainable);
  }

  trainableVariables(): tf.Variable[] {
    return this.list()
      .filter((e) => e.trainable)
      .map((e) => e.variable);
  }

  /** Number of trainable values, as PyTorch's sum(p.numel() for p in parameters()). */
  count(): number {
    return this.list()
      .filter((e) => e.trainable)
      .reduce((sum, e) => sum + e.variable.size, 0);
  }

  dispose(): void {
    for (const entry of this.entries.values()) entry.variable.dispose();
    this.entries.clear();
  }
}
