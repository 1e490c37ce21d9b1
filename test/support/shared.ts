import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './readme.js';

/**
 * The project's shared material (the paper, EGTEA's annotation files, the PyTorch reference):
 * `../shared` beside the checkout, or EGTEA_SHARED_DIR (a git worktree sits elsewhere).
 */
export const SHARED_DIR = path.resolve(process.env.EGTEA_SHARED_DIR ?? path.join(REPO_ROOT, '..', 'shared'));

/**
 * Whether a test that reads `SHARED_DIR/part` should be skipped: when the folder is absent, and
 * never in CI (process.env.CI), where the test runs and fails instead. Says why it skips.
 */
export function skipWithoutShared(part: string): boolean {
  const dir = path.join(SHARED_DIR, part);
  if (fs.existsSync(dir) || process.env.CI) return false;
  process.stderr.write(`skipped: ${dir} is absent (set EGTEA_SHARED_DIR to the shared folder; under CI this fails)\n`);
  return true;
}
