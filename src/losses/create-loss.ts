import * as tf from '@tensorflow/tfjs';
import type { BatchProgress, EpochUpdate, GraphInputs, LossFunction, LossProgress } from './loss-function.js';
import { SeededRandom } from '../util/random.js';
import { classBalancedWeights, inverseFrequencyWeights, ldamMargins } from './class-weights.js';
import { weightedCrossEntropy, type Reduction } from './cross-entropy.js';
import type { DifficultyTracker } from './difficulty-tracker.js';
import { drawBeta, equalizationLoss, rareClassMask } from './equalization.js';
import { focalLoss } from './focal.js';
import { ldamLoss } from './ldam.js';

export const LOSS_NAMES = ['ce', 'cdb', 'ifw', 'focal', 'cb', 'cb-focal', 'eql', 'ldam'] as const;
export type LossName = (typeof LOSS_NAMES)[number];

export interface LossOptions {
  numClasses: number;
  /** Training samples per class: ifw, cb, cb-focal, eql and ldam need them. */
  counts?: readonly number[];
  /** Where cdb reads its current class weights. */
  tracker?: DifficultyTracker;
  reduction?: Reduction;
  /** focal, cb-focal: the focusing exponent (default 2). */
  gamma?: number;
  /** focal: optional per-class alpha. */
  alpha?: readonly number[];
  /** cb, cb-focal, and LDAM's deferred re-weighting: effective-number beta (default 0.9999). */
  beta?: number;
  /** eql: frequency threshold lambda (default 1.76e-3, the EQL paper's) and Bernoulli probability (default 0.9). */
  eqlLambda?: number;
  eqlGamma?: number;
  /** eql's Bernoulli draws until beginBatch brings a generator of its own (default: seed 0). */
  random?: Pick<SeededRandom, 'bernoulli'>;
  /** ldam: largest margin (0.5) and logit scale (30). */
  ldamMaxMargin?: number;
  ldamScale?: number;
  /** ldam: the epoch (0-based) at which deferred re-weighting switches to class-balanced weights; null for none. */
  drwEpoch?: number | null;
}

/**
 * A loss function that also owns constant tensors, freed by dispose(), names the tensors each
 * call reads (GraphInputs), so a training step can run as one graph, and hears of training
 * progress (LossProgress): CDB's weights follow validation, LDAM-DRW the epoch, EQL draws from
 * each batch's generator.
 */
export type ClassLoss = LossFunction & GraphInputs & LossProgress & { readonly lossName: LossName; dispose(): void };

function needCounts(name: LossName, options: LossOptions): readonly number[] {
  const counts = options.counts;
  if (!counts) throw new Error(`loss '${name}' needs the training class counts`);
  if (counts.length !== options.numClasses) throw new Error(`loss '${name}': ${counts.length} class counts for ${options.numClasses} classes`);
  return counts;
}

function constant(values: readonly number[]): tf.Tensor1D {
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

function finish(name: LossName, fn: LossFunction, parts: LossParts = {}): ClassLoss {
  const owned = parts.owned ?? [];
  return Object.assign(fn, {
    lossName: name,
    dispose: () => tf.dispose(owned),
    graphInputs: parts.reads ?? (() => owned),
    beginBatch: parts.beginBatch ?? (() => {}),
    endEpoch: parts.endEpoch ?? (() => null),
  });
}

export function isLossName(name: string): name is LossName {
  return (LOSS_NAMES as readonly string[]).includes(name);
}

/** The losses egtea trains with: CDB-CE and the baselines it is compared against. */
export function createLoss(name: LossName | string, options: LossOptions): ClassLoss {
  if (!isLossName(name)) throw new Error(`unknown loss '${name}'; choose one of: ${LOSS_NAMES.join(', ')}`);
  const reduction = options.reduction ?? 'mean';
  switch (name) {
    case 'ce':
      return finish(name, (labels, logits) => weightedCrossEntropy(labels, logits, null));
    case 'cdb': {
      const tracker = options.tracker;
      if (!tracker) throw new Error("loss 'cdb' needs a DifficultyTracker");
      if (tracker.numClasses !== options.numClasses) throw new Error(`the tracker has ${tracker.numClasses} classes, the loss ${options.numClasses}`);
      return finish(name, (labels, logits) => weightedCrossEntropy(labels, logits, tracker.weightsTensor(), reduction), {
        reads: () => [tracker.weightsTensor()],
        endEpoch: (epoch, accuracy) => {
          const update = tracker.update(accuracy, epoch);
          return { tau: update.tau, weights: update.weights, warnings: update.warnings };
        },
      });
    }
    case 'ifw': {
      const weights = constant(inverseFrequencyWeights(needCounts(name, options)));
      return finish(name, (labels, logits) => weightedCrossEntropy(labels, logits, weights, reduction), { owned: [weights] });
    }
    case 'cb': {
      const weights = constant(classBalancedWeights(needCounts(name, options), options.beta));
      return finish(name, (labels, logits) => weightedCrossEntropy(labels, logits, weights, reduction), { owned: [weights] });
    }
    case 'focal': {
      const alpha = options.alpha ? constant(options.alpha) : null;
      const gamma = options.gamma ?? 2;
      return finish(name, (labels, logits) => focalLoss(labels, logits, gamma, alpha, reduction), { owned: alpha ? [alpha] : [] });
    }
    case 'cb-focal': {
      const weights = constant(classBalancedWeights(needCounts(name, options), options.beta));
      const gamma = options.gamma ?? 2;
      return finish(name, (labels, logits) => focalLoss(labels, logits, gamma, weights, reduction), { owned: [weights] });
    }
    case 'eql': {
      const mask = constant(rareClassMask(needCounts(name, options), options.eqlLambda ?? 1.76e-3));
      let random = options.random ?? new SeededRandom(0);
      const gamma = options.eqlGamma ?? 0.9;
      // Its Bernoulli draws are made in JavaScript each call; a graph would freeze one.
      return finish(name, (labels, logits) => equalizationLoss(labels, logits, mask, drawBeta(random, gamma)), {
        owned: [mask],
        reads: () => null,
        beginBatch: (progress) => {
          if (progress.random) random = progress.random;
        },
      });
    }
    case 'ldam': {
      const counts = needCounts(name, options);
      const margins = constant(ldamMargins(counts, options.ldamMaxMargin ?? 0.5));
      const drwWeights = constant(classBalancedWeights(counts, options.beta ?? 0.9999));
      const scale = options.ldamScale ?? 30;
      const drwEpoch = options.drwEpoch ?? null;
      // The epoch being trained, 0-based as drwEpoch is; 0 until beginBatch says otherwise.
      let epoch = 0;
      const reweight = () => drwEpoch !== null && epoch >= drwEpoch;
      return finish(
        name,
        (labels, logits) => ldamLoss(labels, logits, margins, scale, reweight() ? drwWeights : null, options.reduction ?? 'weighted'),
        {
          owned: [margins, drwWeights],
          // The weights are read from the DRW epoch on: a graph step, keyed by what it reads, records the re-weighted loss anew.
          reads: () => (reweight() ? [margins, drwWeights] : [margins]),
          beginBatch: (progress) => {
            epoch = progress.epoch - 1;
          },
        },
      );
    }
  }
}
