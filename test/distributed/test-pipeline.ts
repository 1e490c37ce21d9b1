import { validatePipeline, type Pipeline } from '../../src/config/pipeline.js';
import { smallPipeline } from '../synthetic-data.js';

/**
 * The small test pipeline (CDB, 2 micro-batches per step) with batches of 24: two steps an
 * epoch. Float rounding grows with every step of this tiny network (max-pool and ReLU choices
 * flip on near ties): after 8 steps even its graph and eager runs differ by ~2e-3, after 4 by
 * ~3e-6, so the equivalence is checked over few steps.
 */
export function distributedTestPipeline(epochs: number): Pipeline {
  const base = smallPipeline({ epochs });
  return validatePipeline({ ...base, schedule: { ...base.schedule, batchSize: 24 } }, 'distributed test pipeline');
}
