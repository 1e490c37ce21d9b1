import { classBalancedWeights } from '../class-weights.js';
import type { Reduction } from '../cross-entropy.js';
import { focalLoss } from '../focal.js';
import { classLoss, constant, defineLoss, needCounts } from '../loss-definition.js';
import { betaSetting, GAMMA_SETTING, reductionSetting } from '../shared-settings.js';

export const cbFocal = defineLoss<'cb-focal', { beta: number; gamma: number; reduction: Reduction }>({
  name: 'cb-focal',
  summary: 'focal loss with class-balanced weights (Cui et al., CVPR 2019)',
  settings: { beta: betaSetting('the class-balanced weights'), gamma: GAMMA_SETTING, reduction: reductionSetting('mean') },
  create: (settings, context) => {
    const weights = constant(classBalancedWeights(needCounts('cb-focal', context), settings.beta));
    return classLoss('cb-focal', (labels, logits) => focalLoss(labels, logits, settings.gamma, weights, settings.reduction), { owned: [weights] });
  },
});
