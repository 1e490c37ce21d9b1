import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { visibleGpus, workerEnvironments } from '../distributed/launcher.js';
import { freePorts } from '../distributed/ports.js';

export interface WorkersBenchOptions {
  arch: string;
  frames: number;
  size: number;
  /** Clips per worker per step. */
  batch: number;
  steps: number;
  reduces: number;
  workers: number[];
  log: (line: string) => void;
}

export interface WorkersBenchRow {
  workers: number;
  /** Median step time of the slowest worker (ms): each of `workers` trains `batch` clips and all-reduces. */
  stepMs: number;
  /** Clips per second over all workers. */
  clipsPerSecond: number;
  /** Median time of one all-reduce of every parameter (ms), null for one worker. */
  allReduceMs: number | null;
  /** Bytes each worker sends into the all-reduce per step (float32 parameters). */
  allReduceBytes: number;
  /** The all-reduce's rate: bytes per worker per second. */
  allReduceGBps: number | null;
}

export interface WorkersBenchResult {
  arch: string;
  clip: string;
  cores: number;
  parameters: number;
  rows: WorkersBenchRow[];
}

interface WorkerOutput {
  task: number;
  stepMs: number;
  allReduceMs: number | null;
  parameters: number;
  graph: string;
}

function runWorker(args: string[], env: Record<string, string>): Promise<WorkerOutput> {
  // The worker beside this file, compiled (dist) or not (tsx): the same Node options run it.
  const here = fileURLToPath(import.meta.url);
  const file = path.join(path.dirname(here), `workers-worker${path.extname(here)}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, file, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`bench worker ${args[0]} failed (exit ${code}):\n${stderr.slice(-2000)}`));
      else resolve(JSON.parse(last) as WorkerOutput);
    });
  });
}

/**
 * Data-parallel step time and all-reduce time for each worker count, on this machine: N worker
 * processes as `train --workers N` runs them (each a share of the cores, or a GPU), every one
 * training `batch` clips a step with its gradients all-reduced in the step.
 */
export async function runWorkersBench(options: WorkersBenchOptions): Promise<WorkersBenchResult> {
  const rows: WorkersBenchRow[] = [];
  let parameters = 0;
  const gpus = visibleGpus();
  for (const n of options.workers) {
    options.log(`${n} worker(s): ${options.arch}, ${options.batch} clip(s) of ${options.frames}x${options.size}x${options.size} each per step...`);
    const addresses = (await freePorts(n)).map((p) => `localhost:${p}`);
    const environments = workerEnvironments(n, gpus);
    const outputs = await Promise.all(
      addresses.map((_, k) =>
        runWorker(
          [
            String(k),
            options.arch,
            String(options.frames),
            String(options.size),
            String(options.batch),
            String(options.steps),
            String(options.reduces),
            ...addresses,
          ],
          environments[k]!,
        ),
      ),
    );
    parameters = outputs[0]!.parameters;
    const stepMs = Math.max(...outputs.map((o) => o.stepMs));
    const allReduceMs = n > 1 ? Math.max(...outputs.map((o) => o.allReduceMs!)) : null;
    const bytes = parameters * 4;
    rows.push({
      workers: n,
      stepMs,
      clipsPerSecond: (n * options.batch * 1000) / stepMs,
      allReduceMs,
      allReduceBytes: bytes,
      allReduceGBps: allReduceMs === null ? null : bytes / (allReduceMs / 1000) / 1e9,
    });
  }
  return { arch: options.arch, clip: `${options.frames}x${options.size}x${options.size}`, cores: os.availableParallelism(), parameters, rows };
}
