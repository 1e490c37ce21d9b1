import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The egtea package folder, whether running from src/ (tests) or dist/src/ (the command). */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the egtea package folder');
    dir = parent;
  }
  return dir;
}
