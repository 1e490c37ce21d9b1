import type { Reduction } from '../cross-entropy.js';
import { focalLoss } from '../focal.js';
import { classLoss, constant, defineLoss } from '../loss-definition.js';
import { GAMMA_SETTING, reductionSetting } from '../shared-settings.js';

export const focal = defineLoss<'focal', { gamma: number; reduction: Reduction }>({
  name: 'focal',
  summary: 'softmax focal loss (Lin et al., ICCV 2017): -(1 - p_t)^gamma log p_t',
  settings: { gamma: GAMMA_SETTING, reduction: reductionSetting('mean') },
  create: (settings, context) => {
    const alpha = context.alpha ? constant(context.alpha) : null;
    return classLoss('focal', (labels, logits) => focalLoss(labels, logits, settings.gamma, alpha, settings.reduction), { owned: alpha ? [alpha] : [] });
  },
});
