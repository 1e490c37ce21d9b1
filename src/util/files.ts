import os from 'node:os';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a file through a temporary name and a rename, so a kill never leaves half of it. The
 * name holds the host too: processes of several machines (a sharded sweep) may write one file of
 * a shared folder, and containers' pids repeat.
 */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const temporary = `${file}${temporarySuffix()}`;
  try {
    await fs.writeFile(temporary, data);
    await fs.rename(temporary, file);
  } catch (error) {
    // A full disk leaves an empty temporary behind: nothing of a failed write stays.
    await fs.rm(temporary, { force: true }).catch(() => {});
    // Messages name the file being written, not its temporary (a failed write names none).
    const e = error as NodeJS.ErrnoException;
    if (e.path === temporary || (e.path === undefined && e.code !== undefined)) e.path = file;
    throw error;
  }
}

/** What writeFileAtomic puts between a file's name and the writer's host and pid (egtea's native JPEG writer, jpeg_write.cc, matches it too). */
const TEMPORARY_INFIX = '.tmp-';

/** What this process appends to a file's name for its temporary: the infix, host and pid. */
export function temporarySuffix(): string {
  return `${TEMPORARY_INFIX}${os.hostname()}-${process.pid}`;
}

/** Removes temporaries of `file` that a killed writer left (writeFileAtomic's, any host and pid). */
export async function removeLeftTemporaries(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}${TEMPORARY_INFIX}`;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) if (name.startsWith(prefix)) await fs.rm(path.join(dir, name), { force: true });
}

export async function pathExists(file: string): Promise<boolean> {
  return fs
    .access(file)
    .then(() => true)
    .catch(() => false);
}
