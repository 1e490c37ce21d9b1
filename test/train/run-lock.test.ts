import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockHeldError, lockOrOutwait, lockRunFolder, lockWhenFree, OTHER_HOST_STALE_MS } from '../../src/run/run-lock.js';

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-lock-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function commandOf(pid: number): Promise<string> {
  return (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8'))
    .split('\0')
    .filter((s) => s !== '')
    .join(' ');
}

describe('the run-folder lock', () => {
  it('refuses a second holder while the first runs, naming its pid and command, and is free again after release', async () => {
    const file = path.join(work, 'held.lock');
    const lock = await lockRunFolder(file);
    await expect(lockRunFolder(file)).rejects.toThrow(
      new RegExp(`held.lock: another train is writing this run folder \\(pid ${process.pid}, since .*: .*node`),
    );
    await lock.release();
    await expect(fs.access(file)).rejects.toThrow();
    const again = await lockRunFolder(file);
    await again.release();
  });

  it('is refused while another live process holds it, and taken over once that process is killed', async () => {
    const file = path.join(work, 'other.lock');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const command = await commandOf(child.pid!);
      await fs.writeFile(file, JSON.stringify({ pid: child.pid, command, host: os.hostname(), since: '2026-01-01T00:00:00.000Z' }));
      await expect(lockRunFolder(file)).rejects.toThrow(`(pid ${child.pid}, since 2026-01-01T00:00:00.000Z: ${command})`);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const lock = await lockRunFolder(file);
    expect(JSON.parse(await fs.readFile(file, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('takes over a lock whose pid now runs another command (a reused pid), and a cut-short lock file', async () => {
    const file = path.join(work, 'reused.lock');
    await fs.writeFile(file, JSON.stringify({ pid: process.pid, command: 'egtea train --out somewhere-else', host: os.hostname(), since: '' }));
    const lock = await lockRunFolder(file);
    await lock.release();
    await fs.writeFile(file, '{"pid": 12');
    const second = await lockRunFolder(file);
    expect(JSON.parse(await fs.readFile(file, 'utf8')).pid).toBe(process.pid);
    await second.release();
  });

  it("trusts another machine's lock while it is refreshed, and takes it over once it has not been for the stale time (a task killed on a shared file system)", async () => {
    const file = path.join(work, 'elsewhere.lock');
    await fs.writeFile(file, JSON.stringify({ pid: 4242, command: 'egtea sweep', host: 'node-17', since: '2026-01-01T00:00:00.000Z' }));
    const refused = await lockRunFolder(file, 'sweep', 'sweep folder').then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as Error).message).toBe(
      `${file}: another sweep is writing this sweep folder (pid 4242 on node-17, since 2026-01-01T00:00:00.000Z: egtea sweep); wait for it to finish or stop it, or choose another --out`,
    );
    const old = new Date(Date.now() - OTHER_HOST_STALE_MS - 1000);
    await fs.utimes(file, old, old);
    const lock = await lockRunFolder(file);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toMatchObject({ pid: process.pid, host: os.hostname() });
    await lock.release();
  });

  it("waits out another machine's fresh lock (a task retried after its machine died) but refuses a live one of this machine at once; a bounded wait gives up", async () => {
    const file = path.join(work, 'retried.lock');
    await fs.writeFile(file, JSON.stringify({ pid: 4242, command: 'egtea sweep', host: 'node-3', since: '' }));
    const waits: string[] = [];
    // The dead task stops refreshing: its lock ages past the stale time while we wait.
    const ageing = setTimeout(() => {
      const old = new Date(Date.now() - OTHER_HOST_STALE_MS - 1000);
      void fs.utimes(file, old, old);
    }, 300);
    const lock = await lockOrOutwait(file, 'sweep', 'sweep folder', (held) => waits.push(held.holder.host), 50);
    clearTimeout(ageing);
    expect(waits).toEqual(['node-3']);
    expect(JSON.parse(await fs.readFile(file, 'utf8')).pid).toBe(process.pid);
    // Held by this process, alive: refused without waiting.
    await expect(lockOrOutwait(file, 'sweep', 'sweep folder')).rejects.toThrow(LockHeldError);
    await expect(lockWhenFree(file, 'sweep', 'sweep folder', () => {}, { pollMs: 20, giveUpMs: 100 })).rejects.toThrow(
      'another sweep is writing this sweep folder',
    );
    await lock.release();
  });

  it('lets exactly one of several processes racing for a stale lock take it', async () => {
    const file = path.join(work, 'race.lock');
    // A pid that has exited: a killed holder.
    const gone = spawnSync(process.execPath, ['-e', 'process.pid'], { encoding: 'utf8' }).pid;
    await fs.writeFile(file, JSON.stringify({ pid: gone, command: 'egtea train', host: os.hostname(), since: '' }));
    // The one that takes it keeps it until every racer has answered.
    const script = `
      import { lockRunFolder } from ${JSON.stringify(path.resolve('src/run/run-lock.ts'))};
      try { await lockRunFolder(${JSON.stringify(file)}); console.log('took'); setInterval(() => {}, 1000); }
      catch (error) { console.log(error.message.includes('another train') ? 'refused' : 'error: ' + error.message); }`;
    const children = Array.from({ length: 3 }, () =>
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    const answers = children.map(
      (child) =>
        new Promise<string>((resolve) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('\n')) resolve(out.trim());
          });
          child.on('exit', () => resolve(out.trim()));
        }),
    );
    const outcomes = (await Promise.all(answers)).sort();
    const exits = children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.on('exit', resolve))));
    children.forEach((child) => child.kill('SIGKILL'));
    await Promise.all(exits);
    expect(outcomes).toEqual(['refused', 'refused', 'took']);
  });
});
