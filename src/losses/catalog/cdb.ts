import { number, oneOf, orWords } from '../../util/schema.js';
import type { CdbNormalization, TauRule } from '../cdb-weights.js';
import { weightedCrossEntropy, type Reduction } from '../cross-entropy.js';
import { classLoss, defineLoss } from '../loss-definition.js';
import { reductionSetting } from '../shared-settings.js';

export interface CdbSettings {
  tau: number | 'dynamic';
  tauRule: TauRule;
  normalize: CdbNormalization;
  reduction: Reduction;
  minDifficulty: number;
  smoothing: number;
}

/** CDB-CE (Sinha, Ohashi, Nakamura, ACCV 2020): cross-entropy weighted by w_c = d_c^tau, d_c = 1 - validation accuracy. */
export const cdb = defineLoss<'cdb', CdbSettings>({
  name: 'cdb',
  summary: 'class-wise difficulty-balanced cross-entropy: w_c = (1 - validation accuracy of c)^tau',
  // In the order the docs' table of CDB options lists them.
  settings: {
    tau: {
      field: orWords(
        number('exponent of w_c = d_c^tau: a number >= 0, or `dynamic` (recomputed from the validation accuracies after every epoch)', { min: 0 }),
        ['dynamic'],
      ),
      default: 'dynamic',
    },
    tauRule: {
      field: oneOf(
        "dynamic tau's rule. `paper`: tau = 2 / (1 + e^-b), b = max A / (min A + 1e-4) - 1, in [2 / (1 + e), 2) = [0.54, 2). `official`: what the authors' published code computes, tau = sigmoid(max A / (min A + 0.01)), only in [0.5, 1)",
        ['paper', 'official'],
      ),
      default: 'paper',
    },
    normalize: {
      field: oneOf("`classes`: weights scaled to sum to the number of classes (the authors' code); `none`: d^tau as written in the paper", ['classes', 'none']),
      default: 'classes',
    },
    reduction: reductionSetting('mean'),
    minDifficulty: { field: number('floor on d_c, in [0, 1], so a perfectly classified class keeps some weight', { min: 0, max: 1 }), default: 0 },
    smoothing: {
      field: number(
        "in [0, 1): each class's validation accuracy is averaged over epochs, a = s a_previous + (1 - s) A (the first validation as it is), and difficulty and a dynamic tau come from a (0: the paper's rule)",
        { min: 0, max: 1, maxOpen: true },
      ),
      default: 0,
    },
  },
  tracker: ({ tau, tauRule, normalize, minDifficulty, smoothing }) => ({ tau, tauRule, normalize, minDifficulty, smoothing }),
  create: (settings, context) => {
    const tracker = context.tracker;
    if (!tracker) throw new Error("loss 'cdb' needs a DifficultyTracker");
    if (tracker.numClasses !== context.numClasses) throw new Error(`the tracker has ${tracker.numClasses} classes, the loss ${context.numClasses}`);
    return classLoss('cdb', (labels, logits) => weightedCrossEntropy(labels, logits, tracker.weightsTensor(), settings.reduction), {
      reads: () => [tracker.weightsTensor()],
      endEpoch: (epoch, accuracy) => {
        const update = tracker.update(accuracy, epoch);
        return { tau: update.tau, weights: update.weights, warnings: update.warnings };
      },
    });
  },
});
