import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { upgradeLegacyPipeline } from '../config/legacy-pipeline.js';
import type { ClassGroups } from '../data/class-groups.js';
import { validatePipeline, type Pipeline } from '../config/pipeline.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';

/** run.json: what a run folder was made from. */
export interface RunInfo {
  pipeline: Pipeline;
  /** The data root, absolute, so evaluation finds the same data. */
  dataRoot: string;
  seed: number;
  classes: string[];
  trainingCounts: number[];
  groups: ClassGroups;
  backend: string;
  startedAt: string;
}

export type EvaluationSplit = 'test' | 'validation';

/** Weights a run can be evaluated with: the final model, or the last checkpoint of an unfinished run. */
export interface RunWeights {
  file: string;
  final: boolean;
}

const CHECKPOINT = 'checkpoint';
const EVAL_FILE = /^eval-(test|validation)(\.[0-9a-f]+)?\.json$/;

/**
 * The layout of a run folder, and the only code that spells its file names:
 *
 *   run.json            the pipeline, data root, classes and groups (written once)
 *   history.jsonl       one line per finished, checkpointed epoch
 *   checkpoint/         weights, momentum and state of the last checkpoint
 *   checkpoint.old/     the previous one, only between the two renames of a save
 *   checkpoint.next/    a checkpoint being written
 *   model.safetensors   the final weights (a copy of the last checkpoint's)
 *   eval-<split>.json   the evaluation of the run's own weights
 *   eval-<split>.<digest>.json   an evaluation of other weights (eval --weights)
 *   train.lock          the pid and command of the `train` writing here
 *   tb/                 TensorBoard event files, rebuilt from history.jsonl after each epoch
 */
export class RunFolder {
  constructor(readonly dir: string) {}

  get runInfoFile(): string {
    return path.join(this.dir, 'run.json');
  }
  get historyFile(): string {
    return path.join(this.dir, 'history.jsonl');
  }
  get modelFile(): string {
    return path.join(this.dir, 'model.safetensors');
  }
  get lockFile(): string {
    return path.join(this.dir, 'train.lock');
  }
  get checkpointDir(): string {
    return path.join(this.dir, CHECKPOINT);
  }
  get previousCheckpointDir(): string {
    return path.join(this.dir, `${CHECKPOINT}.old`);
  }
  get nextCheckpointDir(): string {
    return path.join(this.dir, `${CHECKPOINT}.next`);
  }
  get tensorboardDir(): string {
    return path.join(this.dir, 'tb');
  }

  /** Where `egtea eval` saves an evaluation: its own name unless it measured the run's own weights. */
  evaluationFile(split: EvaluationSplit, foreignDigest?: string): string {
    return path.join(this.dir, foreignDigest === undefined ? `eval-${split}.json` : `eval-${split}.${foreignDigest.slice(0, 12)}.json`);
  }

  /** The checkpoint folder, or null when there is none. A kill between the two renames of a save leaves it in checkpoint.old. */
  async findCheckpoint(): Promise<string | null> {
    for (const dir of [this.checkpointDir, this.previousCheckpointDir]) {
      if (await pathExists(path.join(dir, 'state.json'))) return dir;
    }
    return null;
  }

  /** The weights to evaluate: model.safetensors, else the last checkpoint's (training unfinished). */
  async weights(): Promise<RunWeights | null> {
    if (await pathExists(this.modelFile)) return { file: this.modelFile, final: true };
    const checkpoint = await this.findCheckpoint();
    if (checkpoint === null) return null;
    const file = path.join(checkpoint, 'weights.safetensors');
    return (await pathExists(file)) ? { file, final: false } : null;
  }

  /** Whether `file` is (a path to) this run's own weights: the model or a checkpoint's. */
  ownsWeights(file: string): boolean {
    const resolved = path.resolve(file);
    const own = [this.modelFile, this.checkpointDir, this.previousCheckpointDir].map((f) => path.resolve(f));
    return resolved === own[0] || own.slice(1).some((dir) => resolved === path.join(dir, 'weights.safetensors'));
  }

  async readRunInfo(): Promise<RunInfo> {
    const file = this.runInfoFile;
    let info: RunInfo;
    try {
      info = JSON.parse(await fs.readFile(file, 'utf8')) as RunInfo;
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing; is this a folder made by egtea train?' : (error as Error).message;
      throw new UserError(`${file}: ${reason}`);
    }
    if (!Array.isArray(info.classes) || !info.groups || typeof info.dataRoot !== 'string') throw new UserError(`${file}: not a run description (classes, groups, dataRoot)`);
    // Runs recorded before each loss had its own settings read in today's layout.
    info.pipeline = validatePipeline(upgradeLegacyPipeline(info.pipeline) as Pipeline, file);
    return info;
  }

  /** The pipeline recorded in run.json, or null when there is none (or it cannot be read). */
  async recordedPipeline(): Promise<Pipeline | null> {
    const text = await fs.readFile(this.runInfoFile, 'utf8').catch(() => 'null');
    try {
      const pipeline = (JSON.parse(text) as { pipeline?: unknown } | null)?.pipeline;
      return pipeline === undefined ? null : (upgradeLegacyPipeline(pipeline) as Pipeline);
    } catch {
      return null;
    }
  }

  async writeRunInfo(info: RunInfo): Promise<void> {
    await this.guardDiskFull(() => writeFileAtomic(this.runInfoFile, `${JSON.stringify(info, null, 2)}\n`));
  }

  /** Copies the final weights in as model.safetensors, whole or not at all. */
  async writeModel(weights: string): Promise<void> {
    const temporary = `${this.modelFile}.tmp-${process.pid}`;
    try {
      await this.guardDiskFull(async () => {
        await fs.copyFile(weights, temporary);
        await fs.rename(temporary, this.modelFile);
      });
    } finally {
      await fs.rm(temporary, { force: true });
    }
  }

  /**
   * Every epoch record of history.jsonl (none when there is no history yet); a line that is not
   * an epoch record is named with its line number.
   */
  async readHistory<T extends { epoch: number }>(): Promise<T[]> {
    let text: string;
    try {
      text = await fs.readFile(this.historyFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new UserError(`${this.historyFile}: ${(error as Error).message}`);
    }
    const records: T[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let record: T;
      try {
        record = JSON.parse(line) as T;
      } catch {
        throw new UserError(`${this.historyFile}:${i + 1}: not a JSON line; the history of a run is written by egtea train`);
      }
      if (typeof record?.epoch !== 'number') throw new UserError(`${this.historyFile}:${i + 1}: not an epoch record (no epoch)`);
      records.push(record);
    });
    return records;
  }

  async appendHistory(record: { epoch: number }): Promise<void> {
    await this.guardDiskFull(() => fs.appendFile(this.historyFile, `${JSON.stringify(record)}\n`));
  }

  /**
   * The history of the epochs up to `lastEpoch` (those a checkpoint holds), rewriting the file
   * without later lines: a kill between the history append and the checkpoint leaves one extra.
   */
  async keepHistoryUpTo<T extends { epoch: number }>(lastEpoch: number): Promise<T[]> {
    const text = await fs.readFile(this.historyFile, 'utf8').catch(() => '');
    const records = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as T];
        } catch {
          return [];
        }
      })
      .filter((r) => r.epoch <= lastEpoch);
    await this.guardDiskFull(() => writeFileAtomic(this.historyFile, records.map((r) => `${JSON.stringify(r)}\n`).join('')));
    return records;
  }

  /** Results a fresh start would delete: finished epochs, final weights, evaluations. */
  async results(): Promise<string[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const found: string[] = [];
    const history = await fs.stat(this.historyFile).catch(() => null);
    if (history !== null && history.size > 0) found.push(path.basename(this.historyFile));
    if (names.includes(path.basename(this.modelFile))) found.push(path.basename(this.modelFile));
    found.push(...names.filter((n) => EVAL_FILE.test(n)).sort());
    return found;
  }

  /** Removes everything of an earlier run but run.json and the lock (train --restart, or a folder with nothing finished). */
  async clear(): Promise<void> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const stale = [this.historyFile, this.modelFile, this.tensorboardDir, this.checkpointDir, this.previousCheckpointDir, this.nextCheckpointDir, ...names.filter((n) => EVAL_FILE.test(n)).map((n) => path.join(this.dir, n))];
    for (const file of stale) await fs.rm(file, { recursive: true, force: true });
  }

  /**
   * Runs a write into the folder; a full disk (or quota) becomes one message naming the folder,
   * after the half-written checkpoint is removed.
   */
  async guardDiskFull<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw error;
      await fs.rm(this.nextCheckpointDir, { recursive: true, force: true }).catch(() => {});
      const what = code === 'ENOSPC' ? 'the disk is full' : 'the disk quota is exceeded';
      throw new UserError(`${this.dir}: ${what} while writing the run; free some space and run the same command again: the run resumes from its last checkpoint`, { cause: error });
    }
  }
}

/** SHA-256 of a file, hex: what an evaluation records about the weights it measured. */
export async function fileDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
