import { MILESTONES_KEY, scaleSchedule, type ScheduleScaling } from '../config/schedule.js';
import type { LossName } from '../losses/registry.js';
import type { Pipeline } from '../config/pipeline.js';
import { UserError } from '../util/errors.js';
import { DATASET_BUILD_KEYS, setPipelineValue, type DatasetBuildKey, type SetArgument, type SetValue } from './set-argument.js';

/** What a sweep varies: losses (CDB at each tau), settings, seeds. */
export interface GridSpec {
  losses: LossName[];
  /** CDB's taus (other losses have none). */
  taus: (number | 'dynamic')[];
  sets: SetArgument[];
  seeds: number[];
  epochs?: number;
  /** t of a post-hoc logit adjustment also evaluated for the ce cells (a variant of its own in the summary). */
  posthocTau?: number;
}

/** One loss as a grid column: its name and, for CDB, tau. */
export interface LossVariant {
  loss: LossName;
  tau: number | 'dynamic' | null;
  /** 'ce', 'cdb(tau=dynamic)', ... */
  label: string;
}

/** A combination of --set values. */
export type Setting = Record<string, SetValue>;

/** One run of the grid. */
export interface Cell {
  /** Folder name under runs/: the setting, seed and loss. */
  name: string;
  setting: Setting;
  /** settingLabel(setting): cells of one setting share a row of the summary. */
  settingLabel: string;
  seed: number;
  variant: LossVariant;
  /** Cells sharing a dataKey train on the same images (built once). */
  dataKey: string;
  /** The values of the dataset-build keys (majorityRatio, imbalance) of this cell. */
  build: Partial<Record<DatasetBuildKey, number>>;
  pipeline: Pipeline;
  /** How --epochs moved the pipeline's milestones (null: they stand as the pipeline or --set gives them). */
  scheduleScaling: ScheduleScaling | null;
}

export function lossVariants(losses: readonly LossName[], taus: readonly (number | 'dynamic')[]): LossVariant[] {
  return losses.flatMap((loss): LossVariant[] =>
    loss === 'cdb' ? taus.map((tau) => ({ loss, tau, label: `cdb(tau=${tau})` })) : [{ loss, tau: null, label: loss }],
  );
}

/**
 * The loss the others are compared with: the one given, else CE when the grid has it, else the
 * grid's first loss (`--loss cdb` alone compares nothing, but still summarises).
 */
export function chooseBaseline(variants: readonly LossVariant[], given: string | undefined): string {
  const labels = variants.map((v) => v.label);
  if (given === undefined) return labels.includes('ce') ? 'ce' : labels[0]!;
  if (!labels.includes(given)) throw new UserError(`--baseline ${given}: not among the losses of the grid (${labels.join(', ')})`);
  return given;
}

export function settingLabel(setting: Setting): string {
  const entries = Object.entries(setting);
  return entries.length === 0 ? 'default' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

function product(sets: readonly SetArgument[]): Setting[] {
  return sets.reduce<Setting[]>((rows, { key, values }) => rows.flatMap((row) => values.map((value) => ({ ...row, [key]: value }))), [{}]);
}

/**
 * Every cell of the grid, each with its pipeline checked, so an unknown key or a bad value stops
 * the sweep before anything runs. Dataset-build keys need a source to build from.
 */
export function planCells(base: Pipeline, spec: GridSpec, options: { buildsData: boolean }): Cell[] {
  const keys = spec.sets.map((s) => s.key);
  const repeated = keys.find((k, i) => keys.indexOf(k) !== i);
  if (repeated) throw new UserError(`--set ${repeated}: given twice; list all its values in one --set`);
  for (const { key, values } of spec.sets) {
    if (!(DATASET_BUILD_KEYS as readonly string[]).includes(key)) continue;
    if (!options.buildsData) throw new UserError(`--set ${key}: builds the images per cell, which needs --source (the files egtea images reads)`);
    const bad = values.find((v) => typeof v !== 'number');
    if (bad !== undefined) throw new UserError(`--set ${key}=${bad}: must be a number`);
  }
  const variants = lossVariants(spec.losses, spec.taus);
  // --epochs moves the milestones to the same fractions of the schedule, unless --set gives them.
  const scaling = spec.epochs === undefined ? null : scaleSchedule(base.schedule, spec.epochs, { explicitMilestones: keys.includes(MILESTONES_KEY) });
  const cells: Cell[] = [];
  for (const setting of product(spec.sets)) {
    const build: Cell['build'] = {};
    let pipeline = base;
    if (spec.epochs !== undefined) pipeline = setPipelineValue(pipeline, 'schedule.epochs', spec.epochs, `--epochs ${spec.epochs}`);
    if (scaling !== null) pipeline = { ...pipeline, schedule: { ...pipeline.schedule, milestones: scaling.milestones } };
    // A loss's own settings are set after the cell's loss (below), so `--loss ldam --set loss.drwEpoch=32` works on a CDB pipeline.
    const lossSettings = Object.entries(setting).filter(([key]) => key.startsWith('loss.'));
    for (const [key, value] of Object.entries(setting)) {
      if ((DATASET_BUILD_KEYS as readonly string[]).includes(key)) build[key as DatasetBuildKey] = value as number;
      else if (!key.startsWith('loss.')) pipeline = setPipelineValue(pipeline, key, value);
    }
    const label = settingLabel(setting);
    const buildLabel = settingLabel(build);
    for (const seed of spec.seeds) {
      for (const variant of variants) {
        let cellPipeline = setPipelineValue(pipeline, 'seed', seed, `--seeds`);
        cellPipeline = setPipelineValue(cellPipeline, 'loss.name', variant.loss, `--loss ${variant.loss}`);
        if (variant.tau !== null) cellPipeline = setPipelineValue(cellPipeline, 'loss.tau', variant.tau, `--tau ${variant.tau}`);
        for (const [key, value] of lossSettings) cellPipeline = setPipelineValue(cellPipeline, key, value, `--set ${key}=${value} (loss ${variant.loss})`);
        cells.push({
          name: `${label === 'default' ? '' : `${label},`}seed=${seed},loss=${variant.label}`,
          setting,
          settingLabel: label,
          seed,
          variant,
          dataKey: `${buildLabel === 'default' ? '' : `${buildLabel},`}seed=${seed}`,
          build,
          pipeline: cellPipeline,
          scheduleScaling: scaling,
        });
      }
    }
  }
  return cells;
}
