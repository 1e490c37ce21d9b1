import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHARED } from './helpers.js';

/** Whether python3 can import torch here (the reference needs it; CI installs it). */
export function torchAvailable(): boolean {
  const result = spawnSync(process.env.EGTEA_PYTHON ?? 'python3', ['-c', 'import torch'], { stdio: 'ignore' });
  return result.status === 0;
}

/** Runs ../shared/reference/resnext3d_ref.py --export into a fresh folder and returns it. */
export function exportReferenceCase(args: string[]): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-reference-'));
  const script = path.join(SHARED, 'reference', 'resnext3d_ref.py');
  const result = spawnSync(process.env.EGTEA_PYTHON ?? 'python3', [script, ...args, '--export', out], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${script} failed: ${result.stderr}`);
  return out;
}
