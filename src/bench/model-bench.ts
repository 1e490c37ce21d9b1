import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Implementations } from '../engine/dispatch.js';
import type { GraphStepState } from '../engine/graph/graph-step.js';
import { UserError } from '../util/errors.js';
import { runPythonReference } from './reference.js';

/**
 * How egtea runs the step: one recorded TensorFlow graph (as train does by default), op by op,
 * or the recorded graph alone (recorded in one process, run in another: the graph's own
 * memory, without the recording's).
 */
export type ModelBenchMode = 'graph' | 'op-by-op' | 'graph-replay';
export const MODEL_BENCH_MODES: readonly ModelBenchMode[] = ['graph', 'op-by-op', 'graph-replay'];

export interface ModelBenchSide {
  mode: ModelBenchMode;
  ms: number;
  peakRssMiB: number;
  backend: string;
  /** What src/engine/dispatch.ts chose in the worker. */
  implementations: Implementations;
  step: GraphStepState;
  timeRatio: number;
  memoryRatio: number;
  timeMet: boolean;
  memoryMet: boolean;
}

export interface ModelBenchResult {
  threads: number;
  torch: string;
  pytorch: { ms: number; peakRssMiB: number };
  egtea: ModelBenchSide[];
  goals: { time: number; memory: number };
}

// Issue #11: as fast as PyTorch, at most half again its memory.
const GOALS = { time: 1, memory: 1.5 };

/**
 * 3D-ResNeXt-101 forward + backward of a 10x224x224 clip at batch 1: PyTorch, then egtea in
 * each mode, each in its own process so that its peak memory is its own.
 */
export function runModelBench(options: { reps: number; frames: number; size: number; modes: readonly ModelBenchMode[] }): ModelBenchResult {
  const threads = os.availableParallelism();
  const args = [String(options.reps), String(options.frames), String(options.size)];
  const reference = runPythonReference('model/reference.py', ['--threads', String(threads), '--reps', args[0]!, '--frames', args[1]!, '--size', args[2]!]);
  const pytorch = { ms: Number(reference.ms), peakRssMiB: Number(reference.peakRssMiB) };
  const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'model-worker.js');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-bench-model-'));
  const runWorker = (mode: string, extra: string[] = []): string => {
    const run = spawnSync(process.execPath, [worker, ...args, mode, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (run.status !== 0) throw new UserError(`the egtea side of the model benchmark (${mode}) failed:\n${run.stderr.slice(-1500)}`);
    return run.stdout.trim().split('\n').pop()!;
  };
  let egtea: ModelBenchSide[];
  try {
    egtea = options.modes.map((mode): ModelBenchSide => {
      process.stderr.write(`egtea, ${mode}...\n`);
      const graphFile = path.join(work, 'step.graphdef');
      if (mode === 'graph-replay') runWorker('record', [graphFile]);
      const side = JSON.parse(mode === 'graph-replay' ? runWorker('replay', [graphFile]) : runWorker(mode)) as Pick<
        ModelBenchSide,
        'ms' | 'peakRssMiB' | 'backend' | 'implementations' | 'step'
      >;
      const timeRatio = side.ms / pytorch.ms;
      const memoryRatio = side.peakRssMiB / pytorch.peakRssMiB;
      return { mode, ...side, timeRatio, memoryRatio, timeMet: timeRatio <= GOALS.time, memoryMet: memoryRatio <= GOALS.memory };
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { threads, torch: String(reference.torch), pytorch, egtea, goals: GOALS };
}
