import { DifficultyTracker } from './difficulty-tracker.js';
import type { ClassLoss, LossContext, LossDefinition, SettingsOf } from './loss-definition.js';
import { balancedSoftmax } from './catalog/balanced-softmax.js';
import { cbFocal } from './catalog/cb-focal.js';
import { cb } from './catalog/cb.js';
import { cdb } from './catalog/cdb.js';
import { ce } from './catalog/ce.js';
import { eql } from './catalog/eql.js';
import { focal } from './catalog/focal.js';
import { ifw } from './catalog/ifw.js';
import { ldam } from './catalog/ldam.js';
import { logitAdjusted } from './catalog/logit-adjusted.js';

/** Every loss egtea trains with, one file each under catalog/; adding a loss is adding it here. */
export const LOSSES = [ce, cdb, ifw, focal, cb, cbFocal, eql, ldam, balancedSoftmax, logitAdjusted] as const;

type Definition = (typeof LOSSES)[number];
export type LossName = Definition['name'];
export const LOSS_NAMES = LOSSES.map((d) => d.name) as readonly LossName[];

/** A loss's settings by its name, each filled in. */
export type LossSettings<N extends LossName> = SettingsOf<Extract<Definition, { name: N }>>;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Every setting any loss takes (a key means the same in every loss that takes it). */
export type AnyLossSettings = UnionToIntersection<SettingsOf<Definition>>;

/** What createLoss takes: the context, and any loss's settings (the loss reads its own; the rest take their defaults). */
export type LossOptions = LossContext & Partial<AnyLossSettings>;

export function isLossName(name: string): name is LossName {
  return (LOSS_NAMES as readonly string[]).includes(name);
}

export function lossDefinition(name: LossName | string): LossDefinition {
  const found = LOSSES.find((d) => d.name === name);
  if (!found) throw new Error(`unknown loss '${name}'; choose one of: ${LOSS_NAMES.join(', ')}`);
  return found as unknown as LossDefinition;
}

/** A loss's settings from those given, its defaults for the rest; keys the loss does not take are left out. */
export function resolveLossSettings(name: LossName | string, given: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const definition = lossDefinition(name);
  return Object.fromEntries(Object.entries(definition.settings).map(([key, setting]) => [key, given[key] !== undefined ? given[key] : setting.default]));
}

/** The losses egtea trains with: CDB-CE and the baselines it is compared against (library entry; cdb takes the tracker given). */
export function createLoss(name: LossName | string, options: LossOptions): ClassLoss {
  const definition = lossDefinition(name);
  return definition.create(resolveLossSettings(name, options as unknown as Record<string, unknown>), options);
}

/** A loss from a pipeline's loss block, with the DifficultyTracker it reads when it has one (the trainer saves its state). */
export function buildLoss(
  config: { name: string } & Readonly<Record<string, unknown>>,
  context: Omit<LossContext, 'tracker'>,
): { loss: ClassLoss; tracker: DifficultyTracker | null } {
  const definition = lossDefinition(config.name);
  const settings = resolveLossSettings(config.name, config);
  const tracker = definition.tracker ? new DifficultyTracker(context.numClasses, definition.tracker(settings)) : null;
  try {
    return { loss: definition.create(settings, { ...context, ...(tracker ? { tracker } : {}) }), tracker };
  } catch (error) {
    tracker?.dispose();
    throw error;
  }
}

export type { ClassLoss, LossContext, LossDefinition } from './loss-definition.js';
