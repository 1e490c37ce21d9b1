import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Runs the built `egtea prepare` with `args` and kills it (SIGKILL: no chance to clean up) once
 * `manifest` holds `records` lines; gives up after 60 s, well inside a test's timeout.
 */
export async function killPrepareAfter(args: string[], manifest: string, records: number): Promise<void> {
  const child = spawn(process.execPath, [path.resolve('bin/egtea'), 'prepare', ...args], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 60_000;
      timer = setInterval(() => {
        const lines = fs.existsSync(manifest) ? fs.readFileSync(manifest, 'utf8').split('\n').filter(Boolean).length : 0;
        if (lines >= records) resolve();
        else if (Date.now() > deadline) reject(new Error(`prepare recorded fewer than ${records} clips in ${path.basename(manifest)} in 60 s`));
      }, 20);
      child.on('exit', () => reject(new Error('prepare finished before it could be killed')));
    });
  } finally {
    clearInterval(timer);
    child.kill('SIGKILL');
    await exited;
  }
}
