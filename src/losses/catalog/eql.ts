import { number } from '../../util/schema.js';
import { SeededRandom } from '../../util/random.js';
import { drawBeta, equalizationLoss, rareClassMask } from '../equalization.js';
import { classLoss, constant, defineLoss, needCounts } from '../loss-definition.js';

export const eql = defineLoss<'eql', { eqlLambda: number; eqlGamma: number }>({
  name: 'eql',
  summary: 'equalization loss (Tan et al., CVPR 2020) as the CDB authors apply it to classification',
  settings: {
    eqlLambda: { field: number("frequency below which a class counts as rare (the EQL paper's value)", { min: 0, max: 1 }), default: 1.76e-3 },
    eqlGamma: { field: number('probability of the Bernoulli draw that keeps a rare class suppressed', { min: 0, max: 1 }), default: 0.9 },
  },
  create: (settings, context) => {
    const mask = constant(rareClassMask(needCounts('eql', context), settings.eqlLambda));
    let random = context.random ?? new SeededRandom(0);
    // Its Bernoulli draws are made in JavaScript each call; a graph would freeze one.
    return classLoss('eql', (labels, logits) => equalizationLoss(labels, logits, mask, drawBeta(random, settings.eqlGamma)), {
      owned: [mask],
      reads: () => null,
      beginBatch: (progress) => {
        if (progress.random) random = progress.random;
      },
    });
  },
});
