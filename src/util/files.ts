import os from 'node:os';
import fs from 'node:fs/promises';

/**
 * Writes a file through a temporary name and a rename, so a kill never leaves half of it. The
 * name holds the host too: processes of several machines (a sharded sweep) may write one file of
 * a shared folder, and containers' pids repeat.
 */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const temporary = `${file}.tmp-${os.hostname()}-${process.pid}`;
  await fs.writeFile(temporary, data);
  await fs.rename(temporary, file);
}

export async function pathExists(file: string): Promise<boolean> {
  return fs
    .access(file)
    .then(() => true)
    .catch(() => false);
}
