import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepSummary } from '../../../src/sweep/summary.js';
import { egtea } from '../../support/run-cli.js';

// A grid split over two shard processes on one machine, as a Slurm array or a Kubernetes Indexed
// Job would run it on several: one shard's process is killed while its cell trains, and the task
// started again with the same index finishes its cells; --no-run then summarises the whole grid.

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'egtea');
let work: string;
const started: ChildProcess[] = [];

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-sweep-shards-'));
});
afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

// 2 losses x 2 seeds: shard 1/2 runs CE of both seeds, shard 2/2 CDB of both; both need both seeds' images.
const grid = (out: string) => [
  'sweep',
  '--pipeline',
  'mnist-imbalanced',
  '--loss',
  'ce,cdb',
  '--seeds',
  '2',
  '--epochs',
  '3',
  '--source',
  'mnist-package',
  '--set',
  'dataset.majorityRatio=0.9',
  '--out',
  out,
];
const cell = (seed: number, loss: string) => `dataset.majorityRatio=0.9,seed=${seed},loss=${loss}`;

function start(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; exit: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, exit: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
}

async function until<T>(what: string, probe: () => T | null, seconds = 120): Promise<T> {
  for (let waited = 0; waited < seconds * 10; waited++) {
    const value = probe();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a sweep in shards sharing one folder', () => {
  it('runs every cell once over the shards; a killed shard run again with its index resumes; --no-run summarises every shard', async () => {
    const out = path.join(work, 'grid');
    // Shard 1 from a Slurm array task (ids 0-1), shard 2 by --shard.
    const first = start(grid(out), {
      SLURM_ARRAY_TASK_ID: '0',
      SLURM_ARRAY_TASK_MIN: '0',
      SLURM_ARRAY_TASK_MAX: '1',
      SLURM_ARRAY_TASK_STEP: '1',
      SLURM_ARRAY_TASK_COUNT: '2',
    });
    const second = start([...grid(out), '--shard', '2/2']);

    // Shard 2's first cell is training: its process (train.lock) is a child of the shard's.
    const trainLock = path.join(out, 'runs', cell(1, 'cdb(tau=dynamic)'), 'train.lock');
    const trainer = await until('the cell to train', () => {
      try {
        return (JSON.parse(fs.readFileSync(trainLock, 'utf8')) as { pid: number }).pid;
      } catch {
        return null;
      }
    });
    // Shard 1 is held (stopped, its lock still its own) until the same shard has been started
    // again below, so that check never races shard 1 finishing its two short cells; it then goes on.
    expect(first.child.exitCode, 'shard 1 still runs').toBeNull();
    first.child.kill('SIGSTOP');
    // Killed outright (a node lost, a pod evicted): the cell it started stops with it.
    second.child.kill('SIGKILL');
    await second.exit;
    await until('the orphaned cell to stop', () => (alive(trainer) ? null : true), 60);
    // Stopped, not finished: an orphan training on would race the retried task.
    expect(fs.existsSync(path.join(out, 'runs', cell(1, 'cdb(tau=dynamic)'), 'model.safetensors'))).toBe(false);

    // The same shard started twice is refused while the first runs (shard 1 by its Slurm task, or by --shard).
    const twice = egtea([...grid(out), '--shard', '1/2']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(
      `egtea: ${path.join(out, 'locks', 'sweep-shard-1-of-2.lock')}: another sweep of shard 1/2 is writing this sweep folder (pid ${first.child.pid}`,
    );
    first.child.kill('SIGCONT');

    const one = await first.exit;
    expect(one.stderr).toContain("shard 1/2 (SLURM_ARRAY_TASK_ID=0 (array 0-1, 2 tasks)): 2 of the grid's 4 cells (cells 1, 3)");
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toContain(`[1/2] ${cell(1, 'ce')}: test error`);
    expect(one.stderr).toContain(`[2/2] ${cell(2, 'ce')}: test error`);
    // Its summary covers the whole grid: shard 2's cells are not finished yet.
    expect(one.stdout).toContain('not finished: 2 cells');

    // The task retried with the same index finishes its cells, resuming the killed one.
    const retried = egtea([...grid(out), '--shard', '2/2']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).not.toContain('FAILED');
    expect(retried.stderr).toContain(`${cell(2, 'cdb(tau=dynamic)')}: test error`);
    expect(retried.stdout).not.toContain('not finished');

    const summary = egtea([...grid(out), '--no-run', '--json']);
    expect(summary.code, summary.stderr).toBe(0);
    const document = JSON.parse(summary.stdout) as SweepSummary;
    expect(document.missing).toEqual([]);
    for (const variant of ['ce', 'cdb(tau=dynamic)']) expect(document.rows.find((r) => r.variant === variant && r.model === 'final')!.seeds).toEqual([1, 2]);
    // Each cell trained its 3 epochs once: no epoch twice in a history, whoever ran it.
    for (const seed of [1, 2]) {
      for (const loss of ['ce', 'cdb(tau=dynamic)']) {
        const epochs = fs
          .readFileSync(path.join(out, 'runs', cell(seed, loss), 'history.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { epoch: number }).epoch);
        expect(epochs).toEqual([1, 2, 3]);
      }
    }
    // No lock is left behind, and both shards used the images built once per seed.
    const locks = fs.readdirSync(path.join(out, 'locks'));
    expect(locks).toEqual([]);
    expect(fs.readdirSync(path.join(out, 'data')).sort()).toEqual(['dataset.majorityRatio=0.9,seed=1', 'dataset.majorityRatio=0.9,seed=2']);
  }, 600_000);
});
