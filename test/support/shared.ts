import fs from 'node:fs';
import path from 'node:path';
import { SHARED } from '../helpers.js';

/**
 * Whether a test that reads `../shared/<part>` (the paper, EGTEA's annotation files, the PyTorch
 * reference) should be skipped: when it is absent, as in a git worktree or a copy without it,
 * but never in CI (process.env.CI), where the test runs and fails instead. Says why it skips.
 */
export function skipWithoutShared(part: string): boolean {
  const dir = path.join(SHARED, part);
  if (fs.existsSync(dir) || process.env.CI) return false;
  process.stderr.write(`skipped: ${dir} is absent (the project's shared folder beside the checkout; under CI this fails)\n`);
  return true;
}
