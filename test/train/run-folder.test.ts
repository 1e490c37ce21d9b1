import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeNet5 } from '../../src/models/lenet5.js';
import { RunFolder } from '../../src/run/run-folder.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { Sgd } from '../../src/train/sgd.js';
import { UserError } from '../../src/util/errors.js';

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-run-folder-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function touch(dir: string, names: string[]): Promise<void> {
  for (const name of names) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), name === 'history.jsonl' ? '{"epoch":1}\n' : 'x');
  }
}

describe('RunFolder', () => {
  it('lists the results a fresh start would delete, and clear() removes them and every evaluation but keeps run.json and the lock', async () => {
    const folder = new RunFolder(path.join(work, 'results'));
    await touch(folder.dir, ['run.json', 'train.lock', 'history.jsonl', 'model.safetensors', 'eval-test.json', 'eval-validation.0123456789ab.json', 'checkpoint.next/weights.safetensors', 'notes.txt']);
    expect(await folder.results()).toEqual(['history.jsonl', 'model.safetensors', 'eval-test.json', 'eval-validation.0123456789ab.json']);
    await folder.clear();
    expect((await fs.readdir(folder.dir)).sort()).toEqual(['notes.txt', 'run.json', 'train.lock']);
    expect(await folder.results()).toEqual([]);
  });

  it('an empty history is no result', async () => {
    const folder = new RunFolder(path.join(work, 'empty-history'));
    await fs.mkdir(folder.dir, { recursive: true });
    await fs.writeFile(folder.historyFile, '');
    expect(await folder.results()).toEqual([]);
  });

  it('keeps only the history lines a checkpoint holds (a kill after the append leaves one more), skipping a cut line', async () => {
    const folder = new RunFolder(path.join(work, 'history'));
    await fs.mkdir(folder.dir, { recursive: true });
    await fs.writeFile(folder.historyFile, '{"epoch":1}\n{"epoch":2}\n{"epoch":3}\n{"epo');
    expect((await folder.keepHistoryUpTo(2)).map((r) => r.epoch)).toEqual([1, 2]);
    expect(await fs.readFile(folder.historyFile, 'utf8')).toBe('{"epoch":1}\n{"epoch":2}\n');
  });

  it("finds the weights to evaluate: the model, else the checkpoint's, else checkpoint.old's", async () => {
    const folder = new RunFolder(path.join(work, 'weights'));
    await touch(folder.dir, ['checkpoint.old/state.json', 'checkpoint.old/weights.safetensors']);
    expect(await folder.weights()).toEqual({ file: path.join(folder.previousCheckpointDir, 'weights.safetensors'), final: false });
    await touch(folder.dir, ['checkpoint/state.json', 'checkpoint/weights.safetensors']);
    expect(await folder.weights()).toEqual({ file: path.join(folder.checkpointDir, 'weights.safetensors'), final: false });
    await touch(folder.dir, ['model.safetensors']);
    expect(await folder.weights()).toEqual({ file: folder.modelFile, final: true });
    expect(folder.ownsWeights(path.join(folder.dir, '.', 'model.safetensors'))).toBe(true);
    expect(folder.ownsWeights(path.join(folder.checkpointDir, 'weights.safetensors'))).toBe(true);
    expect(folder.ownsWeights(path.join(work, 'model.safetensors'))).toBe(false);
  });
});

/** Whether this process may mount a tmpfs (root, and a container that allows mounts). */
function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(path.join(os.tmpdir(), 'egtea-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

// A full disk needs a small file system of its own: a tmpfs, which only root may mount.
describe.skipIf(!canMountTmpfs())('a full disk while checkpointing (skipped unless root may mount a 1 MB tmpfs)', () => {
  it('names the folder, says the run can resume, removes checkpoint.next and keeps the last checkpoint', async () => {
    const mount = path.join(work, 'tmpfs');
    await fs.mkdir(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]);
    const model = new LeNet5(10, 1); // about 250 KB of weights
    const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.1, momentum: 0, weightDecay: 0 });
    try {
      const folder = new RunFolder(path.join(mount, 'run'));
      await fs.mkdir(folder.dir);
      await saveCheckpoint(folder, model, optimizer, { epoch: 1, seed: 1, tracker: null });
      const before = await fs.readFile(path.join(folder.checkpointDir, 'weights.safetensors'));
      // Fill the rest of the disk but for a little less than a checkpoint.
      await fs.writeFile(path.join(mount, 'filler'), Buffer.alloc(1024 * 1024 - 2 * before.length + 50_000)).catch(() => {});
      const error = await saveCheckpoint(folder, model, optimizer, { epoch: 2, seed: 1, tracker: null }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toBe(`${folder.dir}: the disk is full while writing the run; free some space and run the same command again: the run resumes from its last checkpoint`);
      expect((await fs.readdir(folder.dir)).sort()).toEqual(['checkpoint']);
      expect(JSON.parse(await fs.readFile(path.join(folder.checkpointDir, 'state.json'), 'utf8')).epoch).toBe(1);
      expect(Buffer.compare(await fs.readFile(path.join(folder.checkpointDir, 'weights.safetensors')), before)).toBe(0);
    } finally {
      optimizer.dispose();
      model.parameters.dispose();
      execFileSync('umount', [mount]);
    }
  });
});
