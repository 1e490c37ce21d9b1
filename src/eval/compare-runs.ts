import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import type { EvaluationSplit, RunEvaluation } from './evaluate-run.js';
import { readRunInfo } from './evaluate-run.js';
import type { SummaryMetrics } from './metrics.js';

/** One run's line in a comparison: its loss and the saved evaluation's metrics by class group. */
export interface ComparedRun {
  run: string;
  loss: string;
  tau: number | 'dynamic';
  seed: number;
  clips: number;
  overall: SummaryMetrics;
  groups: Record<string, SummaryMetrics>;
}

/** Reads the saved evaluations (<run>/eval-<split>.json) of several runs of the same classes. */
export async function compareRuns(runs: readonly string[], split: EvaluationSplit): Promise<ComparedRun[]> {
  if (runs.length === 0) throw new UserError('give at least one run folder');
  const compared: ComparedRun[] = [];
  let classes: string | null = null;
  for (const run of runs) {
    const info = await readRunInfo(run);
    const file = path.join(run, `eval-${split}.json`);
    let evaluation: RunEvaluation;
    try {
      evaluation = JSON.parse(await fs.readFile(file, 'utf8')) as RunEvaluation;
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `missing; run egtea eval --run ${run}${split === 'test' ? '' : ` --split ${split}`} first` : (error as Error).message;
      throw new UserError(`${file}: ${reason}`);
    }
    if (!evaluation.overall || !Array.isArray(evaluation.groups)) throw new UserError(`${file}: not an evaluation written by egtea eval`);
    const names = JSON.stringify(info.classes);
    if (classes !== null && names !== classes) throw new UserError(`${run}: trained on other classes than ${runs[0]}; only runs of one dataset compare`);
    classes = names;
    compared.push({
      run,
      loss: info.pipeline.loss.name,
      tau: info.pipeline.loss.name === 'cdb' ? (info.pipeline.loss.tau ?? 'dynamic') : 'dynamic', // shown for cdb only
      seed: info.seed,
      clips: evaluation.clips,
      overall: evaluation.overall,
      groups: Object.fromEntries(evaluation.groups.map((g) => [g.name, g.metrics])),
    });
  }
  return compared;
}
