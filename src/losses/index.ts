export { cdbWeights, dynamicTau, resolveTau, type CdbOptions, type CdbWeights, type TauRule, type CdbNormalization } from './cdb-weights.js';
export { classBalancedWeights, inverseFrequencyWeights, ldamMargins, normalizeToClassCount } from './class-weights.js';
export { DifficultyTracker, type DifficultyUpdate } from './difficulty-tracker.js';
export { createLoss, isLossName, LOSS_NAMES, type ClassLoss, type LossName, type LossOptions } from './create-loss.js';
export { weightedCrossEntropy, type Reduction } from './cross-entropy.js';
export type { BatchProgress, EpochUpdate, GraphInputs, LossFunction, LossProgress } from './loss-function.js';
export { focalLoss } from './focal.js';
export { equalizationLoss, rareClassMask } from './equalization.js';
export { ldamLoss } from './ldam.js';
