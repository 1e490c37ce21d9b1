import os from 'node:os';
import { InvalidArgumentError, Option } from 'commander';
import { SEED_FIELD } from '../config/pipeline.js';
import { UserError } from '../util/errors.js';

// Option parsers: a bad value is a usage error (exit 2) that names the option's value.

export function parseNumberList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const numbers = parts.map(Number);
  const bad = parts.find((p, i) => p === '' || !Number.isFinite(numbers[i]));
  if (bad !== undefined) throw new InvalidArgumentError(`'${bad}' in '${value}' is not a number`);
  return numbers;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a positive integer`);
  return n;
}

/** Seeds follow one rule everywhere: a whole number >= 0, as pipelines accept (seed 0 included). */
export function parseSeed(value: string): number {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (SEED_FIELD.check(n) !== null) throw new InvalidArgumentError(`'${value}' is not a seed (${SEED_FIELD.expects})`);
  return n;
}

/** A repeatable option's values, in order. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

export function parseNonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a non-negative number`);
  return n;
}

export function parseChoice<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`'${value}' is not one of: ${choices.join(', ')}`);
    return value as T;
  };
}

/** A comma-separated list, each item one of `choices`. */
export function parseChoiceList<T extends string>(choices: readonly T[]) {
  return (value: string): T[] => {
    const items = value.split(',').map((item) => item.trim());
    const bad = items.find((item) => !(choices as readonly string[]).includes(item));
    if (bad !== undefined) throw new InvalidArgumentError(`'${bad}' is not one of: ${choices.join(', ')}`);
    return items as T[];
  };
}

/** CDB's --tau: a non-negative number or 'dynamic'. Checked inside the command, so a bad value is a user error (exit 1). */
export function parseTau(value: string): number | 'dynamic' {
  if (value === 'dynamic') return value;
  try {
    return parseNonNegativeNumber(value);
  } catch {
    throw new UserError(`--tau '${value}' is neither a non-negative number nor 'dynamic'`);
  }
}

/**
 * An option whose default is a multiple of this machine's cores. Its help says so in words, so
 * `--help` (and docs/cli.md, made from it) reads the same on every machine.
 */
export function coresOption(flags: string, description: string, coresEach = 1): Option {
  return new Option(flags, description)
    .argParser(parsePositiveInt)
    .default(coresEach * os.availableParallelism(), coresEach === 1 ? 'the number of cores' : `${coresEach} x the number of cores`);
}
