import { weightedCrossEntropy } from '../cross-entropy.js';
import { classLoss, defineLoss } from '../loss-definition.js';

export const ce = defineLoss({
  name: 'ce',
  summary: 'softmax cross-entropy, every class weighted alike',
  settings: {},
  create: () => classLoss('ce', (labels, logits) => weightedCrossEntropy(labels, logits, null)),
});
