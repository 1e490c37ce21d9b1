import { closest, distance } from 'fastest-levenshtein';
import type { Pipeline } from '../train/pipeline.js';
import { validatePipeline } from '../train/pipeline.js';
import { UserError } from '../util/errors.js';

// The sweep's own, smallest form of a dotted-key override (`--set schedule.learningRate=0.01,0.1`),
// until the project's configuration module offers one.

export type SetValue = number | string | boolean;

export interface SetArgument {
  key: string;
  values: SetValue[];
}

/** Keys that choose how a cell's images are built (egtea images), not a pipeline field. */
export const DATASET_BUILD_KEYS = ['dataset.majorityRatio', 'dataset.imbalance'] as const;
export type DatasetBuildKey = (typeof DATASET_BUILD_KEYS)[number];

/** Optional pipeline fields a base pipeline may leave out, with the settings the baselines read. */
const OPTIONAL_KEYS = ['model.init', 'model.initializer', 'loss.cdb.smoothing', 'loss.cdb.minDifficulty', ...['gamma', 'beta', 'eqlLambda', 'eqlGamma', 'ldamMaxMargin', 'ldamScale', 'drwEpoch'].map((k) => `loss.settings.${k}`)];

function parseValue(text: string): SetValue {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? n : text;
}

/** `KEY=V1,V2,...` as a key and its values. */
export function parseSetArgument(text: string): SetArgument {
  const at = text.indexOf('=');
  const key = text.slice(0, at).trim();
  const values = text.slice(at + 1).split(',').map((v) => v.trim());
  if (at <= 0 || !/^[A-Za-z][\w.]*$/.test(key) || values.some((v) => v === '')) {
    throw new UserError(`--set ${text}: expected KEY=VALUE[,VALUE...], e.g. dataset.majorityRatio=0.9,0.99`);
  }
  return { key, values: values.map(parseValue) };
}

/** The keys a pipeline has (leaves only, dotted), plus the optional ones. */
export function pipelineKeys(p: Pipeline): string[] {
  const keys: string[] = [];
  const walk = (value: unknown, prefix: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
    } else keys.push(prefix);
  };
  walk(p, '');
  return [...new Set([...keys, ...OPTIONAL_KEYS])];
}

/** A copy of `p` with `key` set to `value`, checked as a whole; an unknown key or a bad value is named. */
export function setPipelineValue(p: Pipeline, key: string, value: SetValue, source = `--set ${key}=${value}`): Pipeline {
  const known = pipelineKeys(p);
  if (!known.includes(key)) {
    const near = closest(key.toLowerCase(), known.map((k) => k.toLowerCase()));
    const suggestion = distance(key.toLowerCase(), near) <= 3 ? `; did you mean ${known.find((k) => k.toLowerCase() === near)}?` : '';
    throw new UserError(`--set ${key}: pipeline ${p.name} has no such setting${suggestion} (settings: ${known.join(', ')})`);
  }
  const copy = structuredClone(p) as unknown as Record<string, unknown>;
  const parts = key.split('.');
  let node = copy;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  const leaf = parts.at(-1)!;
  const current = node[leaf];
  // Array settings (milestones, mean, ...) take one value per cell as a one-element list.
  node[leaf] = Array.isArray(current) ? [value] : value;
  return validatePipeline(copy as unknown as Pipeline, source);
}
