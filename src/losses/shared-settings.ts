import { number, oneOf } from '../util/schema.js';
import type { Reduction } from './cross-entropy.js';
import type { LossSetting } from './loss-definition.js';

// Settings several losses take, each loss with its own default where they differ.

export function reductionSetting(fallback: Reduction): LossSetting<Reduction> {
  return { field: oneOf('`mean`: batch mean of w_y CE_i; `weighted`: sum w_y CE_i / sum w_y', ['mean', 'weighted']), default: fallback };
}

export const GAMMA_SETTING: LossSetting<number> = { field: number('focusing exponent of the focal term', { min: 0 }), default: 2 };

export function betaSetting(what: string): LossSetting<number> {
  return { field: number(`effective-number beta of ${what}`, { min: 0, max: 1, maxOpen: true }), default: 0.9999 };
}
