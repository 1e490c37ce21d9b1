import { nullable, number, wholeNumber } from '../../util/schema.js';
import { classBalancedWeights, ldamMargins } from '../class-weights.js';
import type { Reduction } from '../cross-entropy.js';
import { ldamLoss } from '../ldam.js';
import { classLoss, constant, defineLoss, needCounts } from '../loss-definition.js';
import { betaSetting, reductionSetting } from '../shared-settings.js';

export interface LdamSettings {
  ldamMaxMargin: number;
  ldamScale: number;
  drwEpoch: number | null;
  beta: number;
  reduction: Reduction;
}

export const ldam = defineLoss<'ldam', LdamSettings>({
  name: 'ldam',
  summary: 'LDAM (Cao et al., NeurIPS 2019): margins proportional to n_c^(-1/4), with optional deferred re-weighting (DRW)',
  settings: {
    ldamMaxMargin: { field: number('largest class margin', { min: 0, minOpen: true }), default: 0.5 },
    ldamScale: { field: number('logit scale', { min: 0, minOpen: true }), default: 30 },
    drwEpoch: { field: nullable(wholeNumber('epoch (0-based) from which deferred re-weighting uses class-balanced weights; null for none', 0)), default: null },
    beta: betaSetting("deferred re-weighting's class-balanced weights"),
    reduction: reductionSetting('weighted'),
  },
  create: (settings, context) => {
    const counts = needCounts('ldam', context);
    const margins = constant(ldamMargins(counts, settings.ldamMaxMargin));
    const drwWeights = constant(classBalancedWeights(counts, settings.beta));
    const { ldamScale, drwEpoch, reduction } = settings;
    // The epoch being trained, 0-based as drwEpoch is; 0 until beginBatch says otherwise.
    let epoch = 0;
    const reweight = () => drwEpoch !== null && epoch >= drwEpoch;
    return classLoss('ldam', (labels, logits) => ldamLoss(labels, logits, margins, ldamScale, reweight() ? drwWeights : null, reduction), {
      owned: [margins, drwWeights],
      // The weights are read from the DRW epoch on: a graph step, keyed by what it reads, records the re-weighted loss anew.
      reads: () => (reweight() ? [margins, drwWeights] : [margins]),
      beginBatch: (progress) => {
        epoch = progress.epoch - 1;
      },
    });
  },
});
