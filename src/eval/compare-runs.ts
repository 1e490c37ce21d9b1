import fs from 'node:fs/promises';
import { fileDigest, RunFolder, type EvaluationSplit } from '../run/run-folder.js';
import { UserError } from '../util/errors.js';
import type { RunEvaluation } from './evaluate-run.js';
import type { GroupMetrics } from '../metrics/grouped-metrics.js';
import type { SummaryMetrics } from '../metrics/metrics.js';

/** One run's line in a comparison: its loss and the saved evaluation's metrics by class group. */
export interface ComparedRun {
  run: string;
  loss: string;
  tau: number | 'dynamic';
  seed: number;
  clips: number;
  overall: SummaryMetrics;
  groups: Partial<Record<string, GroupMetrics>>;
}

/** The saved evaluation of a run's own current weights, or one message saying why it cannot be used. */
async function readCurrentEvaluation(folder: RunFolder, split: EvaluationSplit): Promise<RunEvaluation> {
  const file = folder.evaluationFile(split);
  const rerun = `run egtea eval --run ${folder.dir}${split === 'test' ? '' : ` --split ${split}`}`;
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
 * Reads the saved evaluations (eval-<split>.json) of several runs of the same classes; each
 * must have measured the weights its run holds now.
 */
export async function compareRuns(runs: readonly string[], split: EvaluationSplit): Promise<ComparedRun[]> {
  if (runs.length === 0) throw new UserError('give at least one run folder');
  const compared: ComparedRun[] = [];
  let classes: string | null = null;
  for (const run of runs) {
    const folder = new RunFolder(run);
    const info = await folder.readRunInfo();
    const evaluation = await readCurrentEvaluation(folder, split);
    const names = JSON.stringify(info.classes);
    if (classes !== null && names !== classes) throw new UserError(`${run}: trained on other classes than ${runs[0]}; only runs of one dataset compare`);
    classes = names;
    const { samples, top1, top5, macroRecall, macroPrecision } = evaluation;
    compared.push({
      run,
      loss: info.pipeline.loss.name,
      tau: info.pipeline.loss.name === 'cdb' ? (info.pipeline.loss.tau ?? 'dynamic') : 'dynamic', // shown for cdb only
      seed: info.seed,
      clips: evaluation.clips,
      overall: { samples, top1, top5, macroRecall, macroPrecision },
      groups: evaluation.groups,
    });
  }
  return compared;
}
