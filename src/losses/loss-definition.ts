import * as tf from '@tensorflow/tfjs-core';
import type { Leaf } from '../util/schema.js';
import type { DifficultyTracker, DifficultyTrackerOptions } from './difficulty-tracker.js';
import type { BatchProgress, EpochUpdate, GraphInputs, LossFunction, LossProgress } from './loss-function.js';

/**
 * One setting of a loss: how a pipeline (and the command line, through the same leaf) checks
 * and reads it, and its default. The default is spelled here and nowhere else.
 */
export interface LossSetting<V> {
  field: Leaf;
  default: V;
}

/** What a loss is built from besides its settings: the run's classes and training counts, CDB's tracker. */
export interface LossContext {
  numClasses: number;
  /** Training samples per class (the losses built from class frequencies need them). */
  counts?: readonly number[];
  /** Where cdb reads its current class weights. */
  tracker?: DifficultyTracker;
  /** eql's Bernoulli draws until beginBatch brings a generator of its own (default: seed 0). */
  random?: { bernoulli(probability: number): boolean };
  /** focal: optional per-class alpha (library use; no pipeline setting). */
  alpha?: readonly number[];
}

/**
 * A loss function that also owns constant tensors, freed by dispose(), names the tensors each
 * call reads (GraphInputs), so a training step can run as one graph, and hears of training
 * progress (LossProgress): CDB's weights follow validation, LDAM-DRW the epoch, EQL draws from
 * each batch's generator.
 */
export type ClassLoss = LossFunction & GraphInputs & LossProgress & { readonly lossName: string; dispose(): void };

/**
 * Everything egtea knows about one loss, in the loss's own file (src/losses/catalog/): its
 * name, a line saying what it is, its settings with their defaults, and how it is built. The
 * registry (registry.ts) lists them; the pipeline schema, the command line's loss options and
 * the docs' tables are generated from it.
 */
export interface LossDefinition<N extends string = string, S extends object = object> {
  name: N;
  summary: string;
  settings: { readonly [K in keyof S]-?: LossSetting<S[K]> };
  /** The DifficultyTracker's options, for a loss whose weights follow validation (cdb). */
  tracker?: (settings: S) => DifficultyTrackerOptions;
  create(settings: S, context: LossContext): ClassLoss;
}

/** The settings type of a definition. */
export type SettingsOf<D> = D extends LossDefinition<string, infer S> ? S : never;

/** A definition with its name and settings types kept (so the registry can derive the pipeline's types). */
export function defineLoss<N extends string, S extends object>(definition: LossDefinition<N, S>): LossDefinition<N, S> {
  return definition;
}

/** The training counts, checked against the number of classes; a loss built from frequencies cannot do without. */
export function needCounts(name: string, context: LossContext): readonly number[] {
  const counts = context.counts;
  if (!counts) throw new Error(`loss '${name}' needs the training class counts`);
  if (counts.length !== context.numClasses) throw new Error(`loss '${name}': ${counts.length} class counts for ${context.numClasses} classes`);
  return counts;
}

/** A float32 vector kept across tf.tidy, owned by the loss that made it. */
export function constant(values: readonly number[]): tf.Tensor1D {
  return tf.keep(tf.tensor1d([...values], 'float32'));
}

interface LossParts {
  /** Tensors the loss owns (freed by dispose). */
  owned?: tf.Tensor[];
  /** Tensors each call reads, default the owned ones; null: the loss cannot run inside a graph. */
  reads?: () => tf.Tensor[] | null;
  beginBatch?: (progress: BatchProgress) => void;
  endEpoch?: (epoch: number, accuracy: readonly (number | null)[]) => EpochUpdate | null;
}

/** A loss function with its name, tensors and progress hooks attached. */
export function classLoss(name: string, fn: LossFunction, parts: LossParts = {}): ClassLoss {
  const owned = parts.owned ?? [];
  return Object.assign(fn, {
    lossName: name,
    dispose: () => tf.dispose(owned),
    graphInputs: parts.reads ?? (() => owned),
    beginBatch: parts.beginBatch ?? (() => {}),
    endEpoch: parts.endEpoch ?? (() => null),
  });
}
