import type { AnyLossSettings, LossName } from '../losses/registry.js';
import { PIPELINE_SCHEMA, validatePipeline, type ModelInitializer, type Pipeline } from './pipeline.js';
import { UserError } from '../util/errors.js';
import { lossSettingOptions } from './loss-config.js';
import { MILESTONES_KEY, scaleSchedule, type ScheduleScaling } from './schedule.js';
import { leafKeys, optionName, setByKey } from '../util/schema.js';

/** What a command line may change in a pipeline: the loss, any loss's settings (`--tau`, `--gamma`, ...), and a few others. */
export interface PipelineOverrides extends Partial<AnyLossSettings> {
  loss?: LossName;
  initializer?: ModelInitializer;
  /** q of class-balanced sampling (loader.classSampling). */
  classSampling?: number;
  epochs?: number;
  seed?: number;
  /** `key=value` pairs for any other key (`--set schedule.learningRate=0.01`), applied last, in order. */
  set?: readonly string[];
}

/** The pipeline key each override sets, in the order they apply (the loss's name before its settings, which come from the registry). */
export const OVERRIDE_KEYS: Readonly<Record<string, string>> = {
  loss: 'loss.name',
  ...Object.fromEntries(lossSettingOptions().map((o) => [o.key, `loss.${o.key}`])),
  initializer: 'model.initializer',
  classSampling: 'loader.classSampling',
  epochs: 'schedule.epochs',
  seed: 'seed',
};

export { optionName };

/** One `--set` argument, `key=value`, split at its first '='. */
export function parseSetArgument(argument: string): { key: string; text: string } {
  const at = argument.indexOf('=');
  const key = at < 0 ? '' : argument.slice(0, at).trim();
  if (key === '') throw new UserError(`--set '${argument}': write key=value, e.g. --set schedule.learningRate=0.01`);
  return { key, text: argument.slice(at + 1) };
}

/**
 * A copy of the pipeline with one dotted key set from a command-line text, read as the type the
 * pipeline's schema gives that key (`setPipelineValue(p, 'schedule.milestones', '15,30')`). An
 * unknown key is refused with the nearest known one; the result is validated as a whole.
 */
export function setPipelineValue(pipeline: Pipeline, key: string, text: string, source = `--set ${key}=${text}`): Pipeline {
  return validatePipeline(setByKey(PIPELINE_SCHEMA, pipeline, key, { text }, source) as Pipeline, source);
}

/**
 * The one way commands change a pipeline: each given override sets its key, keeping everything
 * else (a loss's own settings stay unless the loss changes to one that does not take them), then
 * the result is validated. Problems name the option and `source` ('command line').
 */
export function applyOverrides(pipeline: Pipeline, overrides: PipelineOverrides, source = 'command line'): Pipeline {
  return applyOverridesWithScaling(pipeline, overrides, source).pipeline;
}

/**
 * applyOverrides, also saying how --epochs moved the learning-rate milestones (see
 * config/schedule.ts): they scale with the epochs unless `--set schedule.milestones=...` gives them.
 */
export function applyOverridesWithScaling(
  pipeline: Pipeline,
  overrides: PipelineOverrides,
  source = 'command line',
): { pipeline: Pipeline; scaling: ScheduleScaling | null } {
  const explicitMilestones = (overrides.set ?? []).some((argument) => parseSetArgument(argument).key === MILESTONES_KEY);
  const scaling = overrides.epochs === undefined ? null : scaleSchedule(pipeline.schedule, overrides.epochs, { explicitMilestones });
  let result: unknown = pipeline;
  for (const [option, key] of Object.entries(OVERRIDE_KEYS)) {
    const value = (overrides as Record<string, unknown>)[option];
    if (value === undefined) continue;
    // The new loss's settings are set with it, so `--loss cdb --tau 1` works on a CE pipeline.
    result = setByKey(PIPELINE_SCHEMA, result, key, { value }, `${source}: ${optionName(option)}`);
  }
  if (scaling !== null) result = setByKey(PIPELINE_SCHEMA, result, MILESTONES_KEY, { value: scaling.milestones }, `${source}: --epochs`);
  for (const argument of overrides.set ?? []) {
    const { key, text } = parseSetArgument(argument);
    result = setByKey(PIPELINE_SCHEMA, result, key, { text }, `${source}: --set ${argument}`);
  }
  return { pipeline: validatePipeline(result as Pipeline, source), scaling };
}

/** Every key `--set` (and setPipelineValue) takes: what it must be, and the losses that take it when not every loss does. */
export function pipelineKeys(): { key: string; expects: string; doc: string; losses?: string[] }[] {
  return leafKeys(PIPELINE_SCHEMA).map(({ key, leaf, only }) => ({ key, expects: leaf.expects, doc: leaf.doc, ...(only ? { losses: only } : {}) }));
}
