import { parseShard, type Shard } from '../video/shard.js';
import { UserError } from '../util/errors.js';

// Which part of a grid this process runs: `--shard i/n` (1-based, as test runners shard), or the
// index a scheduler gives every task of an array: Slurm's SLURM_ARRAY_TASK_* variables, or
// Kubernetes' JOB_COMPLETION_INDEX of an Indexed Job with the count given by --shard-count.

/** A shard of a sweep and what chose it (for the log and messages). */
export interface SweepShard extends Shard {
  from: string;
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new UserError(`${name}=${text}: expected a whole number >= 0 (set by Slurm or Kubernetes); unset it, or give --shard i/n`);
  return value;
}

/**
 * This task's place in a Slurm job array. Task ids need not start at 0 or 1 (--array=5-12) and may
 * step (--array=0-30:10), so the shard is the task's position in the array:
 * (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP + 1 of SLURM_ARRAY_TASK_COUNT.
 * An array of scattered ids (--array=1,4,9) has no such position and is refused.
 */
function slurmShard(env: NodeJS.ProcessEnv, count: number | undefined): SweepShard | null {
  const id = wholeNumber(env, 'SLURM_ARRAY_TASK_ID');
  if (id === undefined) return null;
  const min = wholeNumber(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
  const max = wholeNumber(env, 'SLURM_ARRAY_TASK_MAX');
  const step = wholeNumber(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
  const tasks = wholeNumber(env, 'SLURM_ARRAY_TASK_COUNT') ?? (max !== undefined && step > 0 ? Math.floor((max - min) / step) + 1 : undefined);
  const described = `SLURM_ARRAY_TASK_ID=${id} (array ${min}-${max ?? '?'}${step !== 1 ? `:${step}` : ''}, ${tasks ?? '?'} tasks)`;
  const even = step > 0 && id >= min && (id - min) % step === 0 && tasks !== undefined && (max === undefined || (max - min) / step + 1 === tasks);
  if (!even)
    throw new UserError(`${described}: the array's task ids are not an even range (--array=A-B or A-B:S), so this task's shard is unknown; give --shard i/n`);
  const index = (id - min) / step + 1;
  const n = count ?? tasks!;
  if (count !== undefined && count !== tasks)
    throw new UserError(`--shard-count ${count}: the Slurm array has ${tasks} tasks (${described}); leave --shard-count out, or make them agree`);
  if (index > n) throw new UserError(`${described}: task ${index} of ${n}`);
  return { index, count: n, from: described };
}

/**
 * The shard this process runs, or null for the whole grid: --shard first; else, with --shard-count
 * n, JOB_COMPLETION_INDEX (Kubernetes, 0-based) or a Slurm array task; else a Slurm array task
 * alone (its count from SLURM_ARRAY_TASK_COUNT).
 */
export function resolveShard(options: { shard?: string; shardCount?: number }, env: NodeJS.ProcessEnv = process.env): SweepShard | null {
  if (options.shard !== undefined) {
    if (options.shardCount !== undefined) throw new UserError('--shard i/n gives the count already; leave --shard-count out');
    return { ...parseShard(options.shard), from: `--shard ${options.shard}` };
  }
  const completion = wholeNumber(env, 'JOB_COMPLETION_INDEX');
  if (completion !== undefined) {
    if (options.shardCount === undefined)
      throw new UserError(`JOB_COMPLETION_INDEX=${completion}: an Indexed Job does not tell its completions; give --shard-count (the Job's completions)`);
    if (completion >= options.shardCount)
      throw new UserError(
        `JOB_COMPLETION_INDEX=${completion}: runs from 0 to --shard-count - 1 (${options.shardCount - 1}); make --shard-count the Job's completions`,
      );
    return { index: completion + 1, count: options.shardCount, from: `JOB_COMPLETION_INDEX=${completion} of --shard-count ${options.shardCount}` };
  }
  const slurm = slurmShard(env, options.shardCount);
  if (slurm !== null) return slurm;
  if (options.shardCount !== undefined)
    throw new UserError(
      "--shard-count: neither JOB_COMPLETION_INDEX (Kubernetes) nor SLURM_ARRAY_TASK_ID (Slurm) is set, so this task's shard is unknown; give --shard i/n",
    );
  return null;
}

/** The cells of a shard: every count-th of the grid, from the index-th (1-based). */
export function cellsOfShard<T>(cells: readonly T[], shard: Shard | null): T[] {
  return shard === null ? [...cells] : cells.filter((_, i) => i % shard.count === shard.index - 1);
}

export function describeSweepShard(shard: SweepShard): string {
  return `shard ${shard.index}/${shard.count} (${shard.from})`;
}
