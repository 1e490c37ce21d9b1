import path from 'node:path';
import { RunFolder, type EpochRecord, type EvaluationSplit, type RunEvaluation, type RunInfo } from '../run/run-folder.js';

/** What a report shows of one run folder (read through the run folder's owner). */
export interface ReportedRun {
  dir: string;
  /** A short name for legends: the folder's base name. */
  label: string;
  info: RunInfo;
  history: EpochRecord[];
  /** The saved evaluations of the weights the run holds now. */
  evaluations: Partial<Record<EvaluationSplit, RunEvaluation>>;
  /** Post-hoc logit-adjusted evaluations of the run's weights (eval --posthoc-la), by split, smallest t first. */
  posthoc: Partial<Record<EvaluationSplit, RunEvaluation[]>>;
  /** Why a saved evaluation is left out: it measured other weights than the run holds now. */
  staleEvaluations: string[];
}

/** Reads a run folder: run.json (required), history.jsonl and any saved evaluations of its current weights (optional). */
export async function readReportedRun(dir: string): Promise<ReportedRun> {
  const folder = new RunFolder(dir);
  const info = await folder.readRunInfo();
  const history = await folder.readHistory();
  const evaluations: ReportedRun['evaluations'] = {};
  const posthoc: ReportedRun['posthoc'] = {};
  const staleEvaluations: string[] = [];
  for (const split of ['test', 'validation'] as const) {
    for (const t of [undefined, ...(await folder.posthocTaus(split))]) {
      const reading = await folder.readEvaluation(split, info.classes.length, t);
      if (reading.state === 'stale') staleEvaluations.push(reading.message);
      if (reading.state !== 'current') continue;
      if (t === undefined) evaluations[split] = reading.evaluation;
      else posthoc[split] = [...(posthoc[split] ?? []), reading.evaluation];
    }
  }
  return { dir, label: path.basename(path.resolve(dir)), info, history, evaluations, posthoc, staleEvaluations };
}
