import fs from 'node:fs/promises';
import path from 'node:path';
import type { RunEvaluation } from '../eval/evaluate-run.js';
import { RunFolder, type EvaluationSplit, type RunInfo } from '../run/run-folder.js';
import type { EpochRecord } from '../train/trainer.js';
import { UserError } from '../util/errors.js';

/** What a report shows of one run folder (read through the run folder's owner). */
export interface ReportedRun {
  dir: string;
  /** A short name for legends: the folder's base name. */
  label: string;
  info: RunInfo;
  history: EpochRecord[];
  evaluations: Partial<Record<EvaluationSplit, RunEvaluation>>;
  /** Post-hoc logit-adjusted evaluations of the run's weights (eval --posthoc-la), by split, smallest t first. */
  posthoc: Partial<Record<EvaluationSplit, RunEvaluation[]>>;
}

/** The epochs of a run, each checked for what the charts read. */
export async function readHistory(folder: RunFolder): Promise<EpochRecord[]> {
  const records = await folder.readHistory<EpochRecord>();
  records.forEach((record, i) => {
    if (typeof record.trainLoss !== 'number' || !record.validation) {
      throw new UserError(`${folder.historyFile}:${i + 1}: not an epoch record (epoch, trainLoss, validation)`);
    }
  });
  return records;
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
  const posthoc: ReportedRun['posthoc'] = {};
  for (const split of ['test', 'validation'] as const) {
    const evaluation = await readEvaluation(folder.evaluationFile(split), info.classes.length);
    if (evaluation) evaluations[split] = evaluation;
    for (const t of await folder.posthocTaus(split)) {
      const adjusted = await readEvaluation(folder.evaluationFile(split, undefined, t), info.classes.length);
      if (adjusted) (posthoc[split] ??= []).push(adjusted);
    }
  }
  return { dir, label: path.basename(path.resolve(dir)), info, history, evaluations, posthoc };
}
