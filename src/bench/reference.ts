import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { UserError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import { referencePython } from '../util/environment.js';

/** Runs a Python reference under bench/ and parses the JSON document it prints. */
export function runPythonReference(script: string, args: string[]): Record<string, unknown> {
  const python = referencePython();
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

/**
 * A Python reference kept running (`--serve`): each request is one stdin line, each answer one
 * JSON line. Lets egtea and the reference take short turns in one benchmark.
 */
export class ReferenceServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: AsyncIterator<string>;
  private stderr = '';
  private spawnError: string | null = null;

  constructor(
    readonly file: string,
    args: string[],
  ) {
    const python = referencePython();
    this.child = spawn(python, [file, ...args, '--serve']);
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-3000)));
    this.child.on('error', (error) => (this.spawnError = error.message));
    this.answers = readline.createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  static async start(script: string, args: string[]): Promise<{ server: ReferenceServer; header: Record<string, unknown> }> {
    const server = new ReferenceServer(path.join(projectRoot(), 'bench', script), args);
    return { server, header: await server.next() };
  }

  async request(line: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${line}\n`);
    return this.next();
  }

  private async next(): Promise<Record<string, unknown>> {
    const { value, done } = await this.answers.next();
    if (done) {
      // A failed spawn reports its error after the output closes.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.spawnError !== null) throw new UserError(`cannot run ${referencePython()} for the reference (${this.spawnError}); set EGTEA_PYTHON`);
      const hint = /No module named 'torch'/.test(this.stderr) ? ' (PyTorch is missing: pip install torch==2.13.0)' : '';
      throw new UserError(`the reference ${this.file} stopped${hint}:\n${this.stderr}`);
    }
    return JSON.parse(value) as Record<string, unknown>;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Milliseconds of each of reps runs of fn. */
export function timesMs(fn: () => void, reps: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return times;
}

/** Median milliseconds of fn over reps runs, after warmup runs. */
export function timeMs(fn: () => void, warmup: number, reps: number): number {
  timesMs(fn, warmup);
  return median(timesMs(fn, reps));
}
