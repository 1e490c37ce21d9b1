import { number } from '../../util/schema.js';
import { classLoss, constant, defineLoss, needCounts } from '../loss-definition.js';
import { logitAdjustedLoss, logitAdjustment } from '../logit-adjustment.js';

export const logitAdjusted = defineLoss<'logit-adjusted', { laTau: number }>({
  name: 'logit-adjusted',
  summary: 'logit-adjusted loss (Menon et al., ICLR 2021): cross-entropy on logits + t log prior; t = 1 is Balanced Softmax',
  settings: {
    laTau: {
      field: number('t of the logit-adjusted loss: the logits get t log prior added while training (0: plain cross-entropy; 1: Balanced Softmax)', { min: 0 }),
      default: 1,
    },
  },
  create: (settings, context) => {
    const offsets = constant(logitAdjustment(needCounts('logit-adjusted', context), settings.laTau));
    return classLoss('logit-adjusted', (labels, logits) => logitAdjustedLoss(labels, logits, offsets), { owned: [offsets] });
  },
});
