import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const REPOSITORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The project's shared material (paper, EGTEA annotations, references): beside the checkout, or beside the folder of worktrees. */
export const SHARED = [path.join(REPOSITORY, '..', 'shared'), path.join(REPOSITORY, '..', '..', 'shared')].find((dir) => fs.existsSync(dir)) ?? path.join(REPOSITORY, '..', 'shared');

/** Whether CI runs the tests: there, missing material or native parts fail instead of skipping. */
export const IN_CI = Boolean(process.env.CI) && process.env.CI !== 'false';

/**
 * Whether tests of `material` under ../shared should be skipped: when it is absent outside CI,
 * saying so once. In CI they run and fail on the missing files.
 */
export function skipWithoutShared(material: string): boolean {
  if (fs.existsSync(path.join(SHARED, material)) || IN_CI) return false;
  console.warn(`skipping tests of ${path.join(SHARED, material)}: it is absent (the project's shared material)`);
  return true;
}

/** Largest absolute difference, and largest difference relative to the reference's scale. */
export function difference(actual: tf.Tensor, expected: tf.Tensor): { abs: number; rel: number } {
  const a = actual.dataSync();
  const e = expected.dataSync();
  if (a.length !== e.length) throw new Error(`sizes differ: ${a.length} vs ${e.length}`);
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    abs = Math.max(abs, Math.abs(a[i]! - e[i]!));
    scale = Math.max(scale, Math.abs(e[i]!));
  }
  return { abs, rel: abs / Math.max(scale, 1e-12) };
}

const temporaryFolders: string[] = [];

/** A new folder in the system temp folder, removed when the test file ends (test/setup.ts). */
export function temporaryFolder(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  temporaryFolders.push(dir);
  return dir;
}

export function removeTemporaryFolders(): void {
  for (const dir of temporaryFolders.splice(0)) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
