import type { ShotThresholds } from '../data/class-groups.js';
import type { GroupedMetrics } from '../metrics/grouped-metrics.js';
import type { ClassificationMetrics } from '../metrics/metrics.js';
import { checkPerClass, type SavedClassResults } from '../metrics/report-file.js';
import { UserError } from '../util/errors.js';

export type EvaluationSplit = 'test' | 'validation';

/** A saved evaluation (eval-<split>.json in the run folder); `perClass` is what `egtea weights --from` reads. */
export interface RunEvaluation extends Omit<GroupedMetrics, 'groups'>, SavedClassResults {
  run: string;
  split: EvaluationSplit;
  /** The weights measured, and their SHA-256: a reader checks them against the run's weights. */
  weights: string;
  weightsDigest: string;
  /** Whether those are the run's own weights (model.safetensors, or its checkpoint's). */
  ownWeights: boolean;
  seed: number;
  clips: number;
  /** The many/medium/few thresholds the groups were chosen by (absent in files of older versions). */
  thresholds?: ShotThresholds;
  /** Post-hoc logit adjustment: t log prior (training counts) subtracted from the logits; null for none. */
  posthoc?: { tau: number } | null;
  groups: Partial<GroupedMetrics['groups']>;
  confusion: ClassificationMetrics['confusion'];
  /** Where it was saved. */
  file: string;
}

/**
 * What reading a run's own evaluation found: the evaluation of the weights the run holds now,
 * none, or one of other weights (stale: the run trained on, or its model was replaced).
 */
export type EvaluationReading = { state: 'current'; evaluation: RunEvaluation } | { state: 'missing'; message: string } | { state: 'stale'; message: string };

/**
 * Checks that a parsed document is an evaluation of `classCount` classes written by this
 * version of egtea eval (one check for every reader); `rerun` is the command that writes it anew.
 */
export function checkEvaluation(document: unknown, file: string, classCount: number, rerun: string): RunEvaluation {
  const e = document as Partial<RunEvaluation> | null;
  const square =
    Array.isArray(e?.confusion) && e.confusion.length === classCount && e.confusion.every((row) => Array.isArray(row) && row.length === classCount);
  if (typeof e?.top1 !== 'number' || typeof e.groups !== 'object' || e.groups === null || Array.isArray(e.groups) || !square) {
    throw new UserError(
      `${file}: not an evaluation of this run written by this version of egtea eval (top1, groups, perClass, a ${classCount}x${classCount} confusion); ${rerun} again`,
    );
  }
  checkPerClass(e.perClass, file);
  if (typeof e.weightsDigest !== 'string') throw new UserError(`${file}: does not record which weights it measured; ${rerun} again`);
  return e as RunEvaluation;
}
