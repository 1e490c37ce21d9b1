import type { GroupedMetrics } from '../metrics/grouped-metrics.js';
import type { EpochUpdate } from '../losses/loss-function.js';
import { UserError } from '../util/errors.js';
import type { RunFolder } from './run-folder.js';

/** Metrics of one validation: every class, each class group, and per class. */
export type EvaluationSummary = GroupedMetrics;

/** One line of history.jsonl. */
export interface EpochRecord {
  epoch: number;
  seed: number;
  learningRate: number;
  trainLoss: number;
  seconds: number;
  validation: EvaluationSummary;
  /** The CDB weights the next epoch trains with (null for other losses). */
  cdb: EpochUpdate | null;
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
