import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { environmentValue } from '../util/environment.js';
import { UserError } from '../util/errors.js';
import { freePorts } from './ports.js';

export interface LaunchOptions {
  workers: number;
  /** The command line of each worker after `egtea`, without --workers; --cluster and --task are added. */
  args: string[];
  log: (line: string) => void;
}

/** Seconds between asking a worker to stop and killing it. */
const GRACE_SECONDS = 10;

/** The GPUs workers are spread over: CUDA_VISIBLE_DEVICES when set, else what nvidia-smi lists (none without it). */
export function visibleGpus(): string[] {
  const visible = environmentValue('CUDA_VISIBLE_DEVICES');
  if (visible !== undefined)
    return visible
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s !== '-1');
  const listed = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (listed.status !== 0) return [];
  return listed.stdout
    .split('\n')
    .filter((l) => l.startsWith('GPU '))
    .map((_, i) => String(i));
}

/** Each worker's environment: one GPU each, or on CPUs a fair share of the cores (unless set). */
export function workerEnvironments(workers: number, gpus: readonly string[], cores = os.availableParallelism()): Record<string, string>[] {
  if (gpus.length > 0 && workers > gpus.length)
    throw new UserError(`--workers ${workers}: this machine shows ${gpus.length} GPU(s) (${gpus.join(', ')}); run at most one worker per GPU`);
  const threads = String(Math.max(1, Math.floor(cores / workers)));
  return Array.from(
    { length: workers },
    (_, k): Record<string, string> =>
      gpus.length > 0
        ? { CUDA_VISIBLE_DEVICES: gpus[k]! }
        : {
            TF_NUM_INTRAOP_THREADS: environmentValue('TF_NUM_INTRAOP_THREADS') ?? threads,
            EGTEA_KERNEL_THREADS: environmentValue('EGTEA_KERNEL_THREADS') ?? threads,
          },
  );
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/**
 * Runs `egtea <args> --cluster <file> --task k` for k < workers on this machine (free localhost
 * ports, one GPU each when there are GPUs) and supervises them: task 0's output passes through,
 * the others' lines are prefixed with their task. When one worker fails, the others are stopped
 * at once (their pending collectives would otherwise wait out their timeout) and the error names
 * the worker. Resolves when all finished well.
 */
export async function launchWorkers(options: LaunchOptions): Promise<void> {
  const { workers, log } = options;
  const environments = workerEnvironments(workers, visibleGpus());
  const ports = await freePorts(workers);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-cluster-'));
  const clusterFile = path.join(dir, 'cluster.json');
  await fs.writeFile(clusterFile, `${JSON.stringify({ workers: ports.map((p) => `localhost:${p}`) })}\n`);
  const children: ChildProcess[] = [];
  let failure: string | null = null;
  const stopOthers = (except: number) => {
    children.forEach((child, k) => {
      if (k === except || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), GRACE_SECONDS * 1000).unref();
    });
  };
  const forward = (signal: NodeJS.Signals) => () => {
    failure ??= `stopped by ${signal}`;
    stopOthers(-1);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const exits = Array.from({ length: workers }, (_, k) => {
      // The same program (bin/egtea, or whatever ran this one) with the same Node options.
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...options.args, '--cluster', clusterFile, '--task', String(k)], {
        env: { ...process.env, ...environments[k] },
        stdio: ['ignore', k === 0 ? 'inherit' : 'ignore', 'pipe'],
      });
      children.push(child);
      log(
        `worker ${k}: pid ${child.pid}, localhost:${ports[k]}${environments[k]!.CUDA_VISIBLE_DEVICES ? `, GPU ${environments[k]!.CUDA_VISIBLE_DEVICES}` : ''}`,
      );
      readline.createInterface({ input: child.stderr! }).on('line', (line) => log(k === 0 ? line : `[worker ${k}] ${line}`));
      return new Promise<void>((resolve) => {
        child.on('exit', (code, signal) => {
          if ((code !== 0 || signal) && failure === null) {
            failure = `worker ${k} (pid ${child.pid}) ${describeExit(code, signal)}`;
            log(`${failure}; stopping the other workers`);
            stopOthers(k);
          }
          resolve();
        });
      });
    });
    await Promise.all(exits);
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    await fs.rm(dir, { recursive: true, force: true });
  }
  if (failure !== null)
    throw new UserError(`training stopped: ${failure}. Finished work is in the last checkpoint; run the same command again to resume from it`);
}
