import { RunFolder, type EvaluationSplit } from '../run/run-folder.js';
import { UserError } from '../util/errors.js';
import type { ShotThresholds } from '../data/class-groups.js';
import type { GroupMetrics } from '../metrics/grouped-metrics.js';
import type { SummaryMetrics } from '../metrics/metrics.js';

/** One run's line in a comparison: its loss and the saved evaluation's metrics by class group. */
export interface ComparedRun {
  run: string;
  loss: string;
  tau: number | 'dynamic';
  /** t of a post-hoc logit adjustment (a line of its own beside the run's plain evaluation); null for none. */
  posthocTau: number | null;
  thresholds: ShotThresholds | null;
  seed: number;
  clips: number;
  overall: SummaryMetrics;
  groups: Partial<Record<string, GroupMetrics>>;
}

/**
 * Reads the saved evaluations (eval-<split>.json) of several runs of the same classes, each
 * followed by its post-hoc logit-adjusted evaluations (eval-<split>.posthoc-la<t>.json); each
 * must have measured the weights its run holds now.
 */
export async function compareRuns(runs: readonly string[], split: EvaluationSplit): Promise<ComparedRun[]> {
  if (runs.length === 0) throw new UserError('give at least one run folder');
  const compared: ComparedRun[] = [];
  let classes: string | null = null;
  for (const run of runs) {
    const folder = new RunFolder(run);
    const info = await folder.readRunInfo();
    const names = JSON.stringify(info.classes);
    if (classes !== null && names !== classes) throw new UserError(`${run}: trained on other classes than ${runs[0]}; only runs of one dataset compare`);
    classes = names;
    for (const posthocTau of [undefined, ...(await folder.posthocTaus(split))]) {
      const reading = await folder.readEvaluation(split, info.classes.length, posthocTau);
      if (reading.state !== 'current') throw new UserError(reading.message);
      const { evaluation } = reading;
      const { samples, top1, top5, macroRecall, macroPrecision } = evaluation;
      compared.push({
        run,
        loss: info.pipeline.loss.name,
        tau: info.pipeline.loss.name === 'cdb' ? (info.pipeline.loss.tau ?? 'dynamic') : 'dynamic', // shown for cdb only
        posthocTau: posthocTau ?? null,
        thresholds: evaluation.thresholds ?? null,
        seed: info.seed,
        clips: evaluation.clips,
        overall: { samples, top1, top5, macroRecall, macroPrecision },
        groups: evaluation.groups,
      });
    }
  }
  return compared;
}
