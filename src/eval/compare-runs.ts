import fs from 'node:fs/promises';
import { fileDigest, RunFolder, type EvaluationSplit } from '../run/run-folder.js';
import { UserError } from '../util/errors.js';
import type { RunEvaluation } from './evaluate-run.js';
import type { ShotThresholds } from '../data/class-groups.js';
import type { GroupMetrics } from './grouped-metrics.js';
import type { SummaryMetrics } from './metrics.js';

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

/** The saved evaluation of a run's own current weights, or one message saying why it cannot be used. */
async function readCurrentEvaluation(folder: RunFolder, split: EvaluationSplit, posthocTau?: number): Promise<RunEvaluation> {
  const file = folder.evaluationFile(split, undefined, posthocTau);
  const rerun = `run egtea eval --run ${folder.dir}${split === 'test' ? '' : ` --split ${split}`}${posthocTau === undefined ? '' : ` --posthoc-la ${posthocTau}`}`;
  let evaluation: RunEvaluation;
  try {
    evaluation = JSON.parse(await fs.readFile(file, 'utf8')) as RunEvaluation;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `missing; ${rerun} first` : (error as Error).message;
    throw new UserError(`${file}: ${reason}`);
  }
  if (typeof evaluation.top1 === 'undefined' || typeof evaluation.groups !== 'object' || Array.isArray(evaluation.groups)) {
    throw new UserError(`${file}: not an evaluation written by this version of egtea eval; ${rerun} again`);
  }
  if (typeof evaluation.weightsDigest !== 'string') throw new UserError(`${file}: does not record which weights it measured; ${rerun} again`);
  const weights = await folder.weights();
  if (weights === null) throw new UserError(`${folder.dir}: no model.safetensors and no checkpoint, so ${file} cannot be checked against the run's weights`);
  if ((await fileDigest(weights.file)) !== evaluation.weightsDigest) {
    throw new UserError(`${file}: measured other weights (${evaluation.weights}) than the run holds now (${weights.file}); it is stale: ${rerun} again`);
  }
  return evaluation;
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
      const evaluation = await readCurrentEvaluation(folder, split, posthocTau);
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
