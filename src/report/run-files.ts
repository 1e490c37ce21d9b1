import fs from 'node:fs/promises';
import path from 'node:path';
import type { RunEvaluation } from '../eval/evaluate-run.js';
import { readHistory, type EpochRecord } from '../run/history.js';
import { RunFolder, type EvaluationSplit, type RunInfo } from '../run/run-folder.js';
import { UserError } from '../util/errors.js';

/** What a report shows of one run folder (read through the run folder's owner). */
export interface ReportedRun {
  dir: string;
  /** A short name for legends: the folder's base name. */
  label: string;
  info: RunInfo;
  history: EpochRecord[];
  evaluations: Partial<Record<EvaluationSplit, RunEvaluation>>;
}

async function readEvaluation(file: string, classCount: number): Promise<RunEvaluation | undefined> {
  let evaluation: RunEvaluation;
  try {
    evaluation = JSON.parse(await fs.readFile(file, 'utf8')) as RunEvaluation;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`${file}: cannot read an evaluation (${(error as Error).message})`);
  }
  if (typeof evaluation.top1 !== 'number' || !evaluation.groups || !Array.isArray(evaluation.perClass) || !Array.isArray(evaluation.confusion) || evaluation.confusion.length !== classCount) {
    throw new UserError(`${file}: not an evaluation of this run written by egtea eval (top1, groups, perClass, a ${classCount}x${classCount} confusion)`);
  }
  return evaluation;
}

/** Reads a run folder: run.json (required), history.jsonl and any saved evaluations (optional). */
export async function readReportedRun(dir: string): Promise<ReportedRun> {
  const folder = new RunFolder(dir);
  const info = await folder.readRunInfo();
  const history = await readHistory(folder);
  const evaluations: ReportedRun['evaluations'] = {};
  for (const split of ['test', 'validation'] as const) {
    const evaluation = await readEvaluation(folder.evaluationFile(split), info.classes.length);
    if (evaluation) evaluations[split] = evaluation;
  }
  return { dir, label: path.basename(path.resolve(dir)), info, history, evaluations };
}
