import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const REPOSITORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The project's shared material (paper, EGTEA annotations, references): beside the checkout, or beside the folder of worktrees. */
export const SHARED =
  [path.join(REPOSITORY, '..', 'shared'), path.join(REPOSITORY, '..', '..', 'shared')].find((dir) => fs.existsSync(dir)) ??
  path.join(REPOSITORY, '..', 'shared');

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

/** A model's tensors by name, as readSafetensors gives them. */
export type Weights = Map<string, { data: ArrayLike<number> }>;

/** The largest difference of any tensor of two models relative to its largest value (at least 1e-3, so values near zero do not inflate it). */
export function worstRelativeWeights(a: Weights, b: Weights): number {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  let worst = 0;
  for (const [name, expected] of a) {
    const actual = b.get(name)!;
    let scale = 1e-3;
    let diff = 0;
    Array.from(expected.data).forEach((v, i) => {
      scale = Math.max(scale, Math.abs(v));
      diff = Math.max(diff, Math.abs(v - actual.data[i]!));
    });
    worst = Math.max(worst, diff / scale);
  }
  return worst;
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

/** Whether this process may mount a tmpfs (root, in a container that allows mounts): a small disk of its own for full-disk tests. */
export function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

/** Mounts a tmpfs of `size` (such as '1m') on `dir`, read-only with `readOnly`; returns its unmount. */
export function mountTmpfs(dir: string, size: string, readOnly = false): () => void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
  return () => execFileSync('umount', [dir]);
}

/** Fills the file system of `dir` to the last byte (a file `filler` in it). */
export function fillDisk(dir: string): void {
  const chunk = Buffer.alloc(64 * 1024);
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  try {
    for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          fs.writeSync(fd, chunk, 0, size);
        } catch {
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
