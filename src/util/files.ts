import fs from 'node:fs/promises';

/** Writes a file through a temporary name and a rename, so a kill never leaves half of it. */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  await fs.writeFile(temporary, data);
  await fs.rename(temporary, file);
}

export async function pathExists(file: string): Promise<boolean> {
  return fs
    .access(file)
    .then(() => true)
    .catch(() => false);
}
