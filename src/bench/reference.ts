import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';

/** Runs a Python reference under bench/ and parses the JSON document it prints. */
export function runPythonReference(script: string, args: string[]): Record<string, unknown> {
  const python = process.env.EGTEA_PYTHON ?? 'python3';
  const file = path.join(projectRoot(), 'bench', script);
  const result = spawnSync(python, [file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) throw new UserError(`cannot run ${python} for the reference (${result.error.message}); set EGTEA_PYTHON`);
  if (result.status !== 0) {
    const hint = /No module named 'torch'/.test(result.stderr) ? ' (PyTorch is missing: pip install torch==2.13.0)' : '';
    throw new UserError(`the reference ${file} failed${hint}:\n${result.stderr.slice(-1500)}`);
  }
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median milliseconds of fn over reps runs, after warmup runs. */
export function timeMs(fn: () => void, warmup: number, reps: number): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return median(times);
}
