import { inverseFrequencyWeights } from '../class-weights.js';
import { weightedCrossEntropy, type Reduction } from '../cross-entropy.js';
import { classLoss, constant, defineLoss, needCounts } from '../loss-definition.js';
import { reductionSetting } from '../shared-settings.js';

export const ifw = defineLoss<'ifw', { reduction: Reduction }>({
  name: 'ifw',
  summary: 'cross-entropy weighted by inverse class frequency, w_c proportional to 1 / n_c',
  settings: { reduction: reductionSetting('mean') },
  create: (settings, context) => {
    const weights = constant(inverseFrequencyWeights(needCounts('ifw', context)));
    return classLoss('ifw', (labels, logits) => weightedCrossEntropy(labels, logits, weights, settings.reduction), { owned: [weights] });
  },
});
