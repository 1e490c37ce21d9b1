import type { GroupedMetrics } from '../metrics/grouped-metrics.js';
import type { EpochUpdate } from '../losses/loss-function.js';

/** One line of history.jsonl: an epoch trained, validated and checkpointed. */
export interface EpochRecord {
  epoch: number;
  seed: number;
  learningRate: number;
  trainLoss: number;
  seconds: number;
  /** Metrics of the epoch's validation: every class, each class group, and per class. */
  validation: GroupedMetrics<'majority' | 'minority'>;
  /** The CDB weights the next epoch trains with (null for other losses). */
  cdb: EpochUpdate | null;
}
