import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeNet5 } from '../../src/models/lenet5.js';
import { readReportedRun } from '../../src/report/run-files.js';
import { fileDigest, RunFolder, type RunInfo } from '../../src/run/run-folder.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { Sgd } from '../../src/train/sgd.js';
import { UserError } from '../../src/util/errors.js';
import { canMountTmpfs } from '../helpers.js';
import { smallPipeline } from '../synthetic-data.js';

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-run-folder-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** A history line: the fields every reader of history.jsonl checks. */
const epochLine = (epoch: number) => `${JSON.stringify({ epoch, trainLoss: 1, validation: {} })}\n`;

async function touch(dir: string, names: string[]): Promise<void> {
  for (const name of names) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), name === 'history.jsonl' ? '{"epoch":1}\n' : 'x');
  }
}

describe('RunFolder', () => {
  it('lists the results a fresh start would delete, and clear() removes them and every evaluation but keeps run.json and the lock', async () => {
    const folder = new RunFolder(path.join(work, 'results'));
    await touch(folder.dir, [
      'run.json',
      'train.lock',
      'history.jsonl',
      'model.safetensors',
      'eval-test.json',
      'eval-validation.0123456789ab.json',
      'checkpoint.next/weights.safetensors',
      'notes.txt',
    ]);
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

  it('keeps only the history lines a checkpoint holds (a kill after the append leaves one more), skipping a cut last line', async () => {
    const folder = new RunFolder(path.join(work, 'history'));
    await fs.mkdir(folder.dir, { recursive: true });
    await fs.writeFile(folder.historyFile, `${epochLine(1)}${epochLine(2)}${epochLine(3)}{"epo`);
    expect((await folder.keepHistoryUpTo(2)).map((r) => r.epoch)).toEqual([1, 2]);
    expect(await fs.readFile(folder.historyFile, 'utf8')).toBe(`${epochLine(1)}${epochLine(2)}`);
    await fs.writeFile(folder.historyFile, `${epochLine(1)}${epochLine(2)}{"epo`);
    expect((await folder.keepHistoryUpTo(2)).map((r) => r.epoch)).toEqual([1, 2]);
  });

  it('refuses a history that lacks an epoch the checkpoint holds (cut, emptied or edited), naming what it holds, and leaves it as it is', async () => {
    const folder = new RunFolder(path.join(work, 'damaged-history'));
    await fs.mkdir(folder.dir, { recursive: true });
    const cases: [string, string][] = [
      [`${epochLine(1)}{"epo`, 'holds epochs 1 (line 2: not a JSON line), but the checkpoint is after epoch 2'],
      ['', 'holds no epochs, but the checkpoint is after epoch 2'],
      [`${epochLine(1)}{"epo\n${epochLine(2)}`, 'holds epochs 1 (line 2: not a JSON line), but the checkpoint is after epoch 2'],
      [`${epochLine(2)}`, 'holds epochs 2, but the checkpoint is after epoch 2'],
      [`${epochLine(1)}{"epoch":2}\n`, 'holds epochs 1 (line 2: not an epoch record (epoch, trainLoss, validation)), but the checkpoint is after epoch 2'],
    ];
    for (const [text, says] of cases) {
      await fs.writeFile(folder.historyFile, text);
      await expect(folder.keepHistoryUpTo(2)).rejects.toThrow(
        `${folder.historyFile}: ${says}: the history was cut or changed since it was written. Restore it (epochs 1 to 2, one JSON line each) to resume; or pass --restart`,
      );
      expect(await fs.readFile(folder.historyFile, 'utf8')).toBe(text);
    }
  });

  it('a damaged run.json is named with what is intact, and --rewrite-run-json only where train can resume (a checkpoint)', async () => {
    const folder = new RunFolder(path.join(work, 'damaged-run-json'));
    await touch(folder.dir, ['history.jsonl', 'model.safetensors']);
    await fs.writeFile(folder.runInfoFile, '{"pipeline": ');
    const damaged = new RegExp(`^${folder.runInfoFile}: damaged, not JSON \\(.*\\)\\. `);
    const withoutCheckpoint = (await folder.readRunInfo().catch((e: unknown) => e)) as Error;
    expect(withoutCheckpoint.message).toMatch(damaged);
    expect(withoutCheckpoint.message).toMatch(/The rest of .* \(history\.jsonl, model\.safetensors\) is intact; restore run\.json from a copy to read it$/);
    await touch(folder.dir, ['checkpoint/state.json']);
    const withCheckpoint = (await folder.readRunInfo().catch((e: unknown) => e)) as Error;
    expect(withCheckpoint.message).toMatch(damaged);
    expect(withCheckpoint.message).toContain(`--out ${folder.dir} and --rewrite-run-json`);
    expect(withCheckpoint.message).not.toContain('--restart');
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

describe("a run's saved evaluations, read one way by every command", () => {
  /** A run folder of two classes with a model and an evaluation of it (as egtea eval writes them). */
  async function evaluatedRun(name: string): Promise<RunFolder> {
    const folder = new RunFolder(path.join(work, name));
    await fs.mkdir(folder.dir, { recursive: true });
    const info: RunInfo = {
      pipeline: smallPipeline(),
      dataRoot: work,
      seed: 1,
      classes: ['a', 'b'],
      trainingCounts: [3, 1],
      groups: { majority: [0], minority: [1] },
      backend: 'tensorflow',
      startedAt: 'now',
    };
    await fs.writeFile(folder.runInfoFile, JSON.stringify(info));
    await fs.writeFile(folder.modelFile, 'the weights');
    const perClass = [
      { index: 0, name: 'a', support: 1, accuracy: 1, precision: 1 },
      { index: 1, name: 'b', support: 1, accuracy: 0, precision: null },
    ];
    const evaluation = {
      top1: 0.5,
      groups: {},
      perClass,
      confusion: [
        [1, 0],
        [1, 0],
      ],
      weights: folder.modelFile,
      weightsDigest: await fileDigest(folder.modelFile),
    };
    await fs.writeFile(folder.evaluationFile('test'), JSON.stringify(evaluation));
    return folder;
  }

  it('an evaluation of the weights the run holds is current; one of other weights is stale, and the report leaves it out saying why', async () => {
    const folder = await evaluatedRun('evaluated');
    expect((await folder.readEvaluation('test', 2)).state).toBe('current');
    expect((await readReportedRun(folder.dir)).evaluations.test?.top1).toBe(0.5);
    expect(await folder.readEvaluation('validation', 2)).toEqual({
      state: 'missing',
      message: `${folder.evaluationFile('validation')}: missing; run egtea eval --run ${folder.dir} --split validation first`,
    });
    // Trained on (or replaced) after the evaluation.
    await fs.writeFile(folder.modelFile, 'other weights');
    const stale = `${folder.evaluationFile('test')}: measured other weights (${folder.modelFile}) than the run holds now (${folder.modelFile}); it is stale: run egtea eval --run ${folder.dir} again`;
    expect(await folder.readEvaluation('test', 2)).toEqual({ state: 'stale', message: stale });
    const reported = await readReportedRun(folder.dir);
    expect(reported.evaluations).toEqual({});
    expect(reported.staleEvaluations).toEqual([stale]);
  });

  it('a damaged evaluation is refused by every reader with the command that writes it anew', async () => {
    const folder = await evaluatedRun('damaged-evaluation');
    const file = folder.evaluationFile('test');
    await fs.writeFile(file, '{"top1": 0.5,');
    await expect(folder.readEvaluation('test', 2)).rejects.toThrow(
      new RegExp(`^${file}: cannot read an evaluation \\(.*\\); run egtea eval --run ${folder.dir} again$`),
    );
    await expect(readReportedRun(folder.dir)).rejects.toThrow(`${file}: cannot read an evaluation`);
    await fs.writeFile(file, JSON.stringify({ top1: 0.5, groups: {}, perClass: [{ accuracy: 1 }], confusion: [[1]], weightsDigest: 'x' }));
    await expect(folder.readEvaluation('test', 2)).rejects.toThrow(
      `${file}: not an evaluation of this run written by this version of egtea eval (top1, groups, perClass, a 2x2 confusion); run egtea eval --run ${folder.dir} again`,
    );
  });
});

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
      expect((error as Error).message).toBe(
        `${folder.dir}: the disk is full while writing the run; free some space and run the same command again: the run resumes from its last checkpoint`,
      );
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
