import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { referencePython } from '../src/util/environment.js';
import { SHARED, skipWithoutShared, temporaryFolder } from './helpers.js';

/** Whether python3 can import torch here (the reference needs it; CI installs it). */
export function torchAvailable(): boolean {
  const result = spawnSync(referencePython(), ['-c', 'import torch'], { stdio: 'ignore' });
  return result.status === 0;
}

/**
 * Whether the PyTorch reference (../shared/reference with python3 and torch) can run. Outside
 * CI a missing part skips the test with the reason; under CI (process.env.CI) the test runs
 * and fails.
 */
export function referenceAvailable(): boolean {
  if (skipWithoutShared('reference')) return false;
  if (torchAvailable() || process.env.CI) return true;
  process.stderr.write('skipped: python3 cannot import torch (pip install torch==2.13.0); under CI this fails\n');
  return false;
}

/** Runs ../shared/reference/resnext3d_ref.py --export into a fresh folder, removed when the test file ends, and returns it. */
export function exportReferenceCase(args: string[]): string {
  const out = temporaryFolder('egtea-reference-');
  const script = path.join(SHARED, 'reference', 'resnext3d_ref.py');
  const result = spawnSync(referencePython(), [script, ...args, '--export', out], { encoding: 'utf8' });
  if (result.status !== 0) {
    fs.rmSync(out, { recursive: true, force: true });
    throw new Error(`${script} failed: ${result.stderr}`);
  }
  return out;
}
