import type { Pipeline } from './pipeline.js';

/**
 * How `--epochs` changed a pipeline's schedule: its learning-rate milestones moved to the same
 * fractions of the new length (the paper's decay after 3000 of 4000 epochs becomes 30 of 40), so a
 * shortened or lengthened run keeps the schedule's shape. Recorded in run.json and stated in a
 * sweep's protocol.
 */
export interface ScheduleScaling {
  fromEpochs: number;
  fromMilestones: number[];
  epochs: number;
  milestones: number[];
}

/** The key a user sets to give the milestones explicitly; then they are kept as given. */
export const MILESTONES_KEY = 'schedule.milestones';

/**
 * The one rule for a new number of epochs: each milestone scaled by epochs / fromEpochs, rounded
 * to the nearest epoch (and at least 1, the first epoch a milestone can follow). Null when nothing
 * moves: the same length, no milestones, or milestones the user gave explicitly (they win).
 */
export function scaleSchedule(schedule: Pipeline['schedule'], epochs: number, options: { explicitMilestones: boolean }): ScheduleScaling | null {
  if (options.explicitMilestones || epochs === schedule.epochs || schedule.milestones.length === 0) return null;
  const milestones = schedule.milestones.map((m) => Math.max(1, Math.round((m * epochs) / schedule.epochs)));
  return { fromEpochs: schedule.epochs, fromMilestones: [...schedule.milestones], epochs, milestones };
}

/** "milestones 30 of 40 epochs (the pipeline's 3000 of 4000, scaled with --epochs)" */
export function describeScaling(scaling: ScheduleScaling): string {
  return `milestones ${scaling.milestones.join(', ')} of ${scaling.epochs} epochs (the pipeline's ${scaling.fromMilestones.join(', ')} of ${scaling.fromEpochs}, scaled with --epochs)`;
}
