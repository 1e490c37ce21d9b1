import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.js';
import { runPythonReference } from './reference.js';

export interface ModelBenchResult {
  threads: number;
  torch: string;
  egtea: { ms: number; peakRssMiB: number; backend: string; groupedConv3d: string };
  pytorch: { ms: number; peakRssMiB: number };
  timeRatio: number;
  memoryRatio: number;
  goals: { time: number; memory: number; timeMet: boolean; memoryMet: boolean };
}

/** 3D-ResNeXt-101 forward + backward of a 10x224x224 clip at batch 1, egtea and PyTorch each in its own process. */
export function runModelBench(options: { reps: number; frames: number; size: number }): ModelBenchResult {
  const threads = os.availableParallelism();
  const args = [String(options.reps), String(options.frames), String(options.size)];
  const reference = runPythonReference('model/reference.py', ['--threads', String(threads), '--reps', args[0]!, '--frames', args[1]!, '--size', args[2]!]);
  const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'model-worker.js');
  const run = spawnSync(process.execPath, [worker, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.status !== 0) throw new UserError(`the egtea side of the model benchmark failed:\n${run.stderr.slice(-1500)}`);
  const egtea = JSON.parse(run.stdout.trim().split('\n').pop()!) as ModelBenchResult['egtea'];
  const pytorch = { ms: Number(reference.ms), peakRssMiB: Number(reference.peakRssMiB) };
  const timeRatio = egtea.ms / pytorch.ms;
  const memoryRatio = egtea.peakRssMiB / pytorch.peakRssMiB;
  return {
    threads,
    torch: String(reference.torch),
    egtea,
    pytorch,
    timeRatio,
    memoryRatio,
    goals: { time: 2, memory: 2, timeMet: timeRatio <= 2, memoryMet: memoryRatio <= 2 },
  };
}
