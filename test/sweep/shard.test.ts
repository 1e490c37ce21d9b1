import { describe, expect, it } from 'vitest';
import { cellsOfShard, resolveShard } from '../../src/sweep/shard.js';

describe('the shard of a sweep', () => {
  it('--shard i/n runs every n-th cell from the i-th; the shards together are the grid, once', () => {
    const cells = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(cellsOfShard(cells, { index: 1, count: 3 })).toEqual([1, 4, 7, 10]);
    expect(cellsOfShard(cells, { index: 3, count: 3 })).toEqual([3, 6, 9]);
    expect(cellsOfShard(cells, { index: 12, count: 12 })).toEqual([]);
    expect(cellsOfShard(cells, null)).toEqual(cells);
    const all = [1, 2, 3, 4].flatMap((index) => cellsOfShard(cells, { index, count: 4 })).sort((a, b) => a - b);
    expect(all).toEqual(cells);
    expect(resolveShard({ shard: '2/4' }, {})).toEqual({ index: 2, count: 4, from: '--shard 2/4' });
    // --shard wins over a scheduler's variables.
    expect(resolveShard({ shard: '1/2' }, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '8' })).toMatchObject({ index: 1, count: 2 });
    expect(() => resolveShard({ shard: '1/99999999999999999999' }, {})).toThrow(
      '--shard 1/99999999999999999999: N (the number of parts) is too large; at most 9007199254740991',
    );
    expect(() => resolveShard({ shard: '1/2', shardCount: 2 }, {})).toThrow('--shard i/n gives the count already; leave --shard-count out');
    expect(resolveShard({}, {})).toBeNull();
  });

  it("takes a Slurm array task's position in the array, whether ids start at 0, 1 or elsewhere, or step", () => {
    const slurm = (id: number, min: number, max: number, step: number, count: number) => ({
      SLURM_ARRAY_TASK_ID: String(id),
      SLURM_ARRAY_TASK_MIN: String(min),
      SLURM_ARRAY_TASK_MAX: String(max),
      SLURM_ARRAY_TASK_STEP: String(step),
      SLURM_ARRAY_TASK_COUNT: String(count),
    });
    // --array=0-3 and --array=1-4: the same four shards.
    expect(resolveShard({}, slurm(0, 0, 3, 1, 4))).toMatchObject({ index: 1, count: 4 });
    expect(resolveShard({}, slurm(3, 0, 3, 1, 4))).toMatchObject({ index: 4, count: 4 });
    expect(resolveShard({}, slurm(1, 1, 4, 1, 4))).toMatchObject({ index: 1, count: 4 });
    expect(resolveShard({}, slurm(4, 1, 4, 1, 4))).toMatchObject({ index: 4, count: 4, from: 'SLURM_ARRAY_TASK_ID=4 (array 1-4, 4 tasks)' });
    // --array=10-40:10
    expect(resolveShard({}, slurm(30, 10, 40, 10, 4))).toMatchObject({ index: 3, count: 4 });
    // An old Slurm without SLURM_ARRAY_TASK_COUNT: counted from MIN, MAX and STEP.
    expect(resolveShard({}, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '2' })).toMatchObject({ index: 3, count: 3 });
    // --array=1,4,9: no position.
    expect(() => resolveShard({}, slurm(4, 1, 9, 1, 3))).toThrow(
      "SLURM_ARRAY_TASK_ID=4 (array 1-9, 3 tasks): the array's task ids are not an even range (--array=A-B or A-B:S), so this task's shard is unknown; give --shard i/n",
    );
    expect(() => resolveShard({ shardCount: 5 }, slurm(0, 0, 3, 1, 4))).toThrow('--shard-count 5: the Slurm array has 4 tasks');
    expect(() => resolveShard({}, { SLURM_ARRAY_TASK_ID: 'x' })).toThrow(
      'SLURM_ARRAY_TASK_ID=x: expected a whole number >= 0 (set by Slurm or Kubernetes); unset it, or give --shard i/n',
    );
  });

  it("takes a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (0-based) with the count from --shard-count", () => {
    expect(resolveShard({ shardCount: 4 }, { JOB_COMPLETION_INDEX: '0' })).toEqual({ index: 1, count: 4, from: 'JOB_COMPLETION_INDEX=0 of --shard-count 4' });
    expect(resolveShard({ shardCount: 4 }, { JOB_COMPLETION_INDEX: '3' })).toMatchObject({ index: 4, count: 4 });
    expect(() => resolveShard({}, { JOB_COMPLETION_INDEX: '3' })).toThrow(
      "JOB_COMPLETION_INDEX=3: an Indexed Job does not tell its completions; give --shard-count (the Job's completions)",
    );
    expect(() => resolveShard({ shardCount: 3 }, { JOB_COMPLETION_INDEX: '3' })).toThrow('JOB_COMPLETION_INDEX=3: runs from 0 to --shard-count - 1 (2)');
    expect(() => resolveShard({ shardCount: 3 }, {})).toThrow(
      "--shard-count: neither JOB_COMPLETION_INDEX (Kubernetes) nor SLURM_ARRAY_TASK_ID (Slurm) is set, so this task's shard is unknown; give --shard i/n",
    );
  });
});
