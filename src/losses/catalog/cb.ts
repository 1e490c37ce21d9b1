import { classBalancedWeights } from '../class-weights.js';
import { weightedCrossEntropy, type Reduction } from '../cross-entropy.js';
import { classLoss, constant, defineLoss, needCounts } from '../loss-definition.js';
import { betaSetting, reductionSetting } from '../shared-settings.js';

export const cb = defineLoss<'cb', { beta: number; reduction: Reduction }>({
  name: 'cb',
  summary: 'class-balanced cross-entropy (Cui et al., CVPR 2019): w_c proportional to (1 - beta) / (1 - beta^n_c)',
  settings: { beta: betaSetting('the class-balanced weights'), reduction: reductionSetting('mean') },
  create: (settings, context) => {
    const weights = constant(classBalancedWeights(needCounts('cb', context), settings.beta));
    return classLoss('cb', (labels, logits) => weightedCrossEntropy(labels, logits, weights, settings.reduction), { owned: [weights] });
  },
});
