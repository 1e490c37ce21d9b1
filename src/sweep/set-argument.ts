import { setPipelineValue as setPipelineText } from '../config/overrides.js';
import type { Pipeline } from '../config/pipeline.js';
import { UserError } from '../util/errors.js';

// A sweep's `--set KEY=V1,V2,...`: one value per cell. Each value is set through the
// configuration's own dotted-key override, which types it by the pipeline's schema and names an
// unknown key with the nearest known one.

export type SetValue = number | string | boolean;

export interface SetArgument {
  key: string;
  values: SetValue[];
}

/** Keys that choose how a cell's images are built (egtea images), not a pipeline field. */
export const DATASET_BUILD_KEYS = ['dataset.majorityRatio', 'dataset.imbalance'] as const;
export type DatasetBuildKey = (typeof DATASET_BUILD_KEYS)[number];

function parseValue(text: string): SetValue {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? n : text;
}

/** `KEY=V1,V2,...` as a key and its values. */
export function parseSetArgument(text: string): SetArgument {
  const at = text.indexOf('=');
  const key = text.slice(0, at).trim();
  const values = text
    .slice(at + 1)
    .split(',')
    .map((v) => v.trim());
  if (at <= 0 || !/^[A-Za-z][\w.]*$/.test(key) || values.some((v) => v === '')) {
    throw new UserError(`--set ${text}: expected KEY=VALUE[,VALUE...], e.g. dataset.majorityRatio=0.9,0.99`);
  }
  return { key, values: values.map(parseValue) };
}

/** A copy of `p` with `key` set to `value`, checked as a whole; an unknown key or a bad value is named. */
export function setPipelineValue(p: Pipeline, key: string, value: SetValue, source = `--set ${key}=${value}`): Pipeline {
  return setPipelineText(p, key, String(value), source);
}
