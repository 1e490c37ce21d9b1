import fs from 'node:fs/promises';
import os from 'node:os';
import { UserError } from '../util/errors.js';

/** Who holds a run folder: written into its lock file. */
export interface LockHolder {
  pid: number;
  command: string;
  host: string;
  since: string;
}

/** A held lock; release() removes it (only if it is still ours). */
export interface RunLock {
  readonly file: string;
  release(): Promise<void>;
}

/** The lock is held by a process that still runs (or, on another machine, still refreshes it). */
export class LockHeldError extends UserError {
  constructor(
    message: string,
    readonly holder: LockHolder,
  ) {
    super(message);
  }
}

/**
 * Another machine's pid cannot be checked, so a holder keeps its lock's modification time fresh
 * (every 20 s), and a lock from another machine not refreshed for 3 minutes is stale: its holder
 * died with its machine (or was killed on a shared file system, as a Slurm or Kubernetes task
 * is). Generous, since file systems such as NFS cache modification times for up to a minute.
 */
const REFRESH_MS = 20_000;
export const OTHER_HOST_STALE_MS = 180_000;

function processCommand(pid: number): Promise<string | null> {
  return fs
    .readFile(`/proc/${pid}/cmdline`, 'utf8')
    .then((text) =>
      text
        .split('\0')
        .filter((s) => s !== '')
        .join(' '),
    )
    .catch(() => null);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a recorded holder still runs: same host, its pid alive and (where /proc tells) running the recorded command; another host's, while it refreshes the lock. */
async function holderAlive(holder: LockHolder, file: string): Promise<boolean> {
  if (holder.host !== os.hostname()) {
    const stat = await fs.stat(file).catch(() => null);
    return stat !== null && Date.now() - stat.mtimeMs < OTHER_HOST_STALE_MS;
  }
  if (!Number.isInteger(holder.pid) || holder.pid <= 0 || !processAlive(holder.pid)) return false;
  const running = await processCommand(holder.pid);
  // A reused pid runs another command.
  return running === null || running === holder.command;
}

async function readHolder(file: string): Promise<LockHolder | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Cut short by a kill between create and write: nobody can hold it.
    return { pid: -1, command: '', host: os.hostname(), since: '' };
  }
}

/**
 * Takes the lock file of a run folder (created with O_EXCL, holding pid and command), so two
 * `train` processes never write one folder. A lock whose holder is gone (killed) is taken over;
 * a takeover goes through a second O_EXCL file so two processes cannot both take it.
 */
export async function lockRunFolder(file: string, purpose = 'train', folder = 'run folder'): Promise<RunLock> {
  const me: LockHolder = {
    pid: process.pid,
    command: [process.argv0, ...process.argv.slice(1)].join(' '),
    host: os.hostname(),
    since: new Date().toISOString(),
  };
  // /proc's view of our own command line, so a later check of this lock compares like with like.
  me.command = (await processCommand(process.pid)) ?? me.command;
  const text = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await fs.writeFile(file, text, { flag: 'wx' });
      const refresh = setInterval(() => {
        const now = new Date();
        fs.utimes(file, now, now).catch(() => {});
      }, REFRESH_MS);
      refresh.unref();
      return {
        file,
        release: () => {
          clearInterval(refresh);
          return releaseIfOurs(file, text);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(file);
    if (holder === null) continue; // Released meanwhile: try again.
    if (await holderAlive(holder, file)) {
      const where = holder.host === os.hostname() ? '' : ` on ${holder.host}`;
      throw new LockHeldError(
        `${file}: another ${purpose} is writing this ${folder} (pid ${holder.pid}${where}, since ${holder.since}: ${holder.command}); ` +
          'wait for it to finish or stop it, or choose another --out',
        holder,
      );
    }
    await takeOverStale(file, holder);
  }
  throw new UserError(`${file}: could not take the lock; other processes keep taking it`);
}

async function takeOverStale(file: string, seen: LockHolder): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await fs.writeFile(guard, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process is taking it over; a guard left by a kill is old and removed.
    const stat = await fs.stat(guard).catch(() => null);
    if (stat !== null && Date.now() - stat.mtimeMs > 10_000) await fs.rm(guard, { force: true });
    else await new Promise((resolve) => setTimeout(resolve, 50));
    return;
  }
  try {
    // Still the stale holder we saw (not a lock just taken by someone else)?
    const now = await readHolder(file);
    if (now !== null && JSON.stringify(now) === JSON.stringify(seen)) await fs.rm(file, { force: true });
  } finally {
    await fs.rm(guard, { force: true });
  }
}

async function releaseIfOurs(file: string, text: string): Promise<void> {
  const current = await fs.readFile(file, 'utf8').catch(() => null);
  if (current === text) await fs.rm(file, { force: true });
}

/**
 * Takes the lock, waiting while another process holds it (told once through `onWait`): for work
 * that processes share and take turns at, such as a sweep's cells and image folders. With
 * `giveUpMs`, a lock still held after that long is refused as lockRunFolder refuses it.
 */
export async function lockWhenFree(
  file: string,
  purpose: string,
  folder: string,
  onWait: (held: LockHeldError) => void = () => {},
  options: { pollMs?: number; giveUpMs?: number } = {},
): Promise<RunLock> {
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      return await lockRunFolder(file, purpose, folder);
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      if (options.giveUpMs !== undefined && Date.now() - started >= options.giveUpMs) throw error;
      if (!told) onWait(error);
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
  }
}

/**
 * lockRunFolder, except that a lock of another machine is waited for until it goes stale: a
 * task retried after its machine died (a requeued Slurm task, a replaced pod) finds its
 * predecessor's lock still fresh for up to OTHER_HOST_STALE_MS. One refreshed all along is refused.
 */
export async function lockOrOutwait(
  file: string,
  purpose: string,
  folder: string,
  onWait: (held: LockHeldError) => void = () => {},
  pollMs = 1000,
): Promise<RunLock> {
  try {
    return await lockRunFolder(file, purpose, folder);
  } catch (error) {
    if (!(error instanceof LockHeldError) || error.holder.host === os.hostname()) throw error;
    return lockWhenFree(file, purpose, folder, onWait, { pollMs, giveUpMs: OTHER_HOST_STALE_MS + 2 * REFRESH_MS });
  }
}
