import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './docs.js';

/**
 * Vitest global setup of the end-to-end project: compiles dist/ once before the CLI tests run
 * `bin/egtea` (which runs dist/), so they never test an older build than the sources.
 */
export default function buildDist(): void {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'build-dist.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) throw new Error(`building dist/ for the end-to-end tests failed:\n${result.stdout}${result.stderr}`);
}
