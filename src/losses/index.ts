export { cdbWeights, dynamicTau, resolveTau, type CdbOptions, type CdbWeights, type TauRule, type CdbNormalization } from './cdb-weights.js';
export { classBalancedWeights, inverseFrequencyWeights, ldamMargins, normalizeToClassCount } from './class-weights.js';
export { DifficultyTracker, type DifficultyUpdate } from './difficulty-tracker.js';
export {
  buildLoss,
  createLoss,
  isLossName,
  lossDefinition,
  LOSSES,
  LOSS_NAMES,
  type ClassLoss,
  type LossDefinition,
  type LossName,
  type LossOptions,
} from './registry.js';
export { weightedCrossEntropy, type Reduction } from './cross-entropy.js';
export type { BatchProgress, EpochUpdate, GraphInputs, LossFunction, LossProgress } from './loss-function.js';
export { focalLoss } from './focal.js';
export { equalizationLoss, rareClassMask } from './equalization.js';
export { ldamLoss } from './ldam.js';
export { logitAdjustedLoss, logitAdjustment, logPrior } from './logit-adjustment.js';
