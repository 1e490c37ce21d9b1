import type { CdbNormalization, CdbOptions, TauRule } from '../losses/cdb-weights.js';
import type { LossName, LossOptions } from '../losses/create-loss.js';
import type { Reduction } from '../losses/cross-entropy.js';
import { nullable, number, oneOf, optional, optionName, orWords, variants, wholeNumber, type Field, type FieldsOf, type Leaf } from './schema.js';

// A pipeline's loss block: one type per loss, so a setting is accepted only by the losses that
// read it. Settings left out take the defaults below (the losses' own).

/** CDB's settings (see src/losses/cdb-weights.ts). */
export interface CdbLossConfig {
  name: 'cdb';
  tau?: number | 'dynamic';
  tauRule?: TauRule;
  normalize?: CdbNormalization;
  reduction?: Reduction;
  minDifficulty?: number;
  smoothing?: number;
}
export interface CeLossConfig {
  name: 'ce';
}
export interface IfwLossConfig {
  name: 'ifw';
  reduction?: Reduction;
}
export interface FocalLossConfig {
  name: 'focal';
  gamma?: number;
  reduction?: Reduction;
}
export interface CbLossConfig {
  name: 'cb';
  beta?: number;
  reduction?: Reduction;
}
export interface CbFocalLossConfig {
  name: 'cb-focal';
  beta?: number;
  gamma?: number;
  reduction?: Reduction;
}
export interface EqlLossConfig {
  name: 'eql';
  eqlLambda?: number;
  eqlGamma?: number;
}
export interface LdamLossConfig {
  name: 'ldam';
  ldamMaxMargin?: number;
  ldamScale?: number;
  drwEpoch?: number | null;
  beta?: number;
  reduction?: Reduction;
}

export type LossConfig = CeLossConfig | CdbLossConfig | IfwLossConfig | FocalLossConfig | CbLossConfig | CbFocalLossConfig | EqlLossConfig | LdamLossConfig;
type ConfigOf<N extends LossName> = Extract<LossConfig, { name: N }>;

/** The settings every loss's block may hold, with their defaults: one place for docs, checks and the trainer. */
export const LOSS_SETTING_DEFAULTS = {
  tau: 'dynamic',
  tauRule: 'paper',
  normalize: 'classes',
  reduction: 'mean',
  minDifficulty: 0,
  smoothing: 0,
  gamma: 2,
  beta: 0.9999,
  eqlLambda: 1.76e-3,
  eqlGamma: 0.9,
  ldamMaxMargin: 0.5,
  ldamScale: 30,
  drwEpoch: null,
} as const satisfies Record<string, unknown>;

const reduction = (fallback: Reduction) =>
  optional(oneOf(`how a batch's weighted losses combine: 'mean' (batch mean of w_y CE_i) or 'weighted' (sum w_y CE_i / sum w_y); default ${fallback}`, ['mean', 'weighted']));
const gamma = optional(number('focusing exponent of the focal term (default 2)', { min: 0 }));
const beta = (what: string) => optional(number(`effective-number beta of ${what} (default 0.9999)`, { min: 0, max: 1, maxOpen: true }));

/** CDB's options, in the order the README's table lists them; `cdbOptionsTable()` prints them. */
export const CDB_FIELDS: FieldsOf<Omit<CdbLossConfig, 'name'>> & Record<string, Leaf> = {
  tau: optional(orWords(number('exponent of w_c = d_c^tau: a number >= 0, or `dynamic` (recomputed from the validation accuracies after every epoch)', { min: 0 }), ['dynamic'])),
  tauRule: optional(
    oneOf(
      "dynamic tau's rule. `paper`: tau = 2 / (1 + e^-b), b = max A / (min A + 1e-4) - 1, in [2 / (1 + e), 2) = [0.54, 2). `official`: what the authors' published code computes, tau = sigmoid(max A / (min A + 0.01)), only in [0.5, 1)",
      ['paper', 'official'],
    ),
  ),
  normalize: optional(oneOf("`classes`: weights scaled to sum to the number of classes (the authors' code); `none`: d^tau as written in the paper", ['classes', 'none'])),
  reduction: optional(oneOf('`mean`: batch mean of w_y CE_i; `weighted`: sum w_y CE_i / sum w_y', ['mean', 'weighted'])),
  minDifficulty: optional(number('floor on d_c, in [0, 1], so a perfectly classified class keeps some weight', { min: 0, max: 1 })),
  smoothing: optional(number("in [0, 1): each class's validation accuracy is averaged over epochs, a = s a_previous + (1 - s) A (the first validation as it is), and difficulty and a dynamic tau come from a (0: the paper's rule)", { min: 0, max: 1, maxOpen: true })),
};

/** The README's table of CDB options: pipeline key, `train` option, default, meaning. */
export function cdbOptionsTable(): string {
  const defaults: Record<string, unknown> = LOSS_SETTING_DEFAULTS;
  return [
    '| option | `train` option | default | meaning |',
    '| --- | --- | --- | --- |',
    ...Object.entries(CDB_FIELDS).map(([key, field]) => `| \`${key}\` | \`${optionName(key)}\` | \`${String(defaults[key])}\` | ${field.doc.replace(/\|/g, '\\|')} |`),
  ].join('\n');
}

const name = (loss: LossName) => oneOf(`the loss (${loss} here)`, [loss]);

const LOSS_FIELDS: { [N in LossName]: FieldsOf<ConfigOf<N>> } = {
  ce: { name: name('ce') },
  cdb: { name: name('cdb'), ...CDB_FIELDS },
  ifw: { name: name('ifw'), reduction: reduction('mean') },
  focal: { name: name('focal'), gamma, reduction: reduction('mean') },
  cb: { name: name('cb'), beta: beta('the class-balanced weights'), reduction: reduction('mean') },
  'cb-focal': { name: name('cb-focal'), beta: beta('the class-balanced weights'), gamma, reduction: reduction('mean') },
  eql: {
    name: name('eql'),
    eqlLambda: optional(number('frequency below which a class counts as rare (default 1.76e-3, the EQL paper)', { min: 0, max: 1 })),
    eqlGamma: optional(number('probability of the Bernoulli draw that keeps a rare class suppressed (default 0.9)', { min: 0, max: 1 })),
  },
  ldam: {
    name: name('ldam'),
    ldamMaxMargin: optional(number('largest class margin (default 0.5)', { min: 0, minOpen: true })),
    ldamScale: optional(number('logit scale (default 30)', { min: 0, minOpen: true })),
    drwEpoch: optional(nullable(wholeNumber('epoch (0-based) from which deferred re-weighting uses class-balanced weights; null for none (default)', 0))),
    beta: beta("deferred re-weighting's class-balanced weights"),
    reduction: reduction('weighted'),
  },
};

/** The pipeline's `loss` block: the keys depend on the loss's name. */
export const LOSS_FIELD: Field = variants('the loss and its settings', 'name', LOSS_FIELDS, {
  settings: "a loss's settings sit in the loss block itself now, e.g. loss: { name: 'focal', gamma: 1 }",
});

/** The CDB options a pipeline's loss gives the DifficultyTracker, every default spelled out (smoothing included). */
export type CdbSettings = Required<CdbOptions> & { smoothing: number };

/** What the trainer builds a loss from: createLoss's name and options, and the tracker's options for CDB. */
export interface LossSetup {
  name: LossName;
  /** Spread into createLoss's options beside numClasses, counts, tracker, random and epoch. */
  options: Pick<LossOptions, 'reduction' | 'gamma' | 'beta' | 'eqlLambda' | 'eqlGamma' | 'ldamMaxMargin' | 'ldamScale' | 'drwEpoch'>;
  /** Options of the DifficultyTracker (null for losses other than cdb). */
  cdb: CdbSettings | null;
}

/**
 * Maps a pipeline's loss block to what createLoss and DifficultyTracker take, with every default
 * filled in, so the trainer builds the loss in one call:
 * `const setup = lossSetup(p.loss); tracker = setup.cdb && new DifficultyTracker(n, setup.cdb); createLoss(setup.name, { ...setup.options, ... })`.
 */
export function lossSetup(loss: LossConfig): LossSetup {
  const d = LOSS_SETTING_DEFAULTS;
  switch (loss.name) {
    case 'ce':
      return { name: 'ce', options: {}, cdb: null };
    case 'cdb': {
      const cdb: CdbSettings = {
        tau: loss.tau ?? d.tau,
        tauRule: loss.tauRule ?? d.tauRule,
        normalize: loss.normalize ?? d.normalize,
        minDifficulty: loss.minDifficulty ?? d.minDifficulty,
        smoothing: loss.smoothing ?? d.smoothing,
      };
      return { name: 'cdb', options: { reduction: loss.reduction ?? d.reduction }, cdb };
    }
    case 'ifw':
      return { name: 'ifw', options: { reduction: loss.reduction ?? d.reduction }, cdb: null };
    case 'focal':
      return { name: 'focal', options: { gamma: loss.gamma ?? d.gamma, reduction: loss.reduction ?? d.reduction }, cdb: null };
    case 'cb':
      return { name: 'cb', options: { beta: loss.beta ?? d.beta, reduction: loss.reduction ?? d.reduction }, cdb: null };
    case 'cb-focal':
      return { name: 'cb-focal', options: { beta: loss.beta ?? d.beta, gamma: loss.gamma ?? d.gamma, reduction: loss.reduction ?? d.reduction }, cdb: null };
    case 'eql':
      return { name: 'eql', options: { eqlLambda: loss.eqlLambda ?? d.eqlLambda, eqlGamma: loss.eqlGamma ?? d.eqlGamma }, cdb: null };
    case 'ldam':
      return {
        name: 'ldam',
        options: { ldamMaxMargin: loss.ldamMaxMargin ?? d.ldamMaxMargin, ldamScale: loss.ldamScale ?? d.ldamScale, drwEpoch: loss.drwEpoch ?? d.drwEpoch, beta: loss.beta ?? d.beta, reduction: loss.reduction ?? 'weighted' },
        cdb: null,
      };
  }
}

/** The loss block with every default filled in, as the run trains it (for run summaries). */
export function resolvedLoss(loss: LossConfig): LossConfig {
  const setup = lossSetup(loss);
  return { name: setup.name, ...setup.options, ...(setup.cdb ?? {}) } as LossConfig;
}
