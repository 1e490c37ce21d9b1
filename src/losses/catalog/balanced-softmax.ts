import { classLoss, constant, defineLoss, needCounts } from '../loss-definition.js';
import { logitAdjustedLoss, logPrior } from '../logit-adjustment.js';

export const balancedSoftmax = defineLoss({
  name: 'balanced-softmax',
  summary: 'Balanced Softmax (Ren et al., NeurIPS 2020): cross-entropy on logits + log prior, the prior from the training counts',
  settings: {},
  create: (_settings, context) => {
    const offsets = constant(logPrior(needCounts('balanced-softmax', context)));
    return classLoss('balanced-softmax', (labels, logits) => logitAdjustedLoss(labels, logits, offsets), { owned: [offsets] });
  },
});
