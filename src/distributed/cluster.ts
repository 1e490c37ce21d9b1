import fs from 'node:fs/promises';
import { UserError } from '../util/errors.js';

/**
 * A cluster file: every worker's address, task order; the same file on every machine. Task 0
 * (the chief) writes the run folder, which every worker must see (a shared file system).
 *
 *   { "workers": ["node-a:23456", "node-b:23456"] }
 */
export interface ClusterFile {
  workers: string[];
}

const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Checks a parsed cluster file; every message names the file and the field. */
export function validateCluster(value: unknown, file: string): ClusterFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UserError(`${file}: expected an object like {"workers": ["host:port", ...]}`);
  const unknown = Object.keys(value).filter((k) => k !== 'workers');
  if (unknown.length > 0) throw new UserError(`${file}: unknown field ${unknown.map((k) => `"${k}"`).join(', ')}; the file holds only "workers"`);
  const workers = (value as { workers?: unknown }).workers;
  if (!Array.isArray(workers) || workers.length === 0)
    throw new UserError(`${file}: "workers" must be a non-empty list of "host:port" addresses, task 0 first`);
  workers.forEach((address, i) => {
    const match = typeof address === 'string' ? ADDRESS.exec(address) : null;
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535)
      throw new UserError(`${file}: "workers"[${i}] is ${JSON.stringify(address)}; expected "host:port" with a port from 1 to 65535`);
  });
  const seen = new Map<string, number>();
  workers.forEach((address: string, i) => {
    const earlier = seen.get(address);
    if (earlier !== undefined) throw new UserError(`${file}: "workers"[${i}] repeats "workers"[${earlier}] (${address}); each task needs its own address`);
    seen.set(address, i);
  });
  return { workers: workers as string[] };
}

export async function readClusterFile(file: string): Promise<ClusterFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new UserError(`${file}: cannot read the cluster file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return validateCluster(value, file);
}

/** The task index of --task for a cluster of `workers`. */
export function checkTask(task: number | undefined, cluster: ClusterFile, file: string): number {
  if (task === undefined) throw new UserError(`--cluster ${file} needs --task K: this process's index in "workers" (0 to ${cluster.workers.length - 1})`);
  if (!Number.isInteger(task) || task < 0 || task >= cluster.workers.length)
    throw new UserError(`--task ${task}: ${file} lists ${cluster.workers.length} workers, so the task is 0 to ${cluster.workers.length - 1}`);
  return task;
}
