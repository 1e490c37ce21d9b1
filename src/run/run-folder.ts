import { createHash } from 'node:crypto';
import fsSync, { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { upgradeLegacyPipeline } from '../config/legacy-pipeline.js';
import type { ScheduleScaling } from '../config/schedule.js';
import type { ClassGroups } from '../data/class-groups.js';
import { validatePipeline, type Pipeline } from '../config/pipeline.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';
import type { EpochRecord } from './epoch-record.js';
import { checkEvaluation, type EvaluationReading, type EvaluationSplit } from './evaluation.js';

export type { EpochRecord } from './epoch-record.js';
export type { EvaluationReading, EvaluationSplit, RunEvaluation } from './evaluation.js';

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
  /** How --epochs moved the pipeline's learning-rate milestones (absent or null: as the pipeline gives them). */
  scheduleScaling?: ScheduleScaling | null;
}

/** Weights a run can be evaluated with: the final model, or the last checkpoint of an unfinished run. */
export interface RunWeights {
  file: string;
  final: boolean;
}

/** The files of one checkpoint folder (checkpoint/, or checkpoint.old/ or checkpoint.next/). */
export interface CheckpointFiles {
  /** The model's weights (PyTorch names, running statistics included). */
  weights: string;
  /** The optimizer's momentum buffers. */
  optimizer: string;
  /** The run state (epoch, partial epoch, CDB weights) and the SHA-256 of the two weight files; written last. */
  state: string;
}

export function checkpointFiles(dir: string): CheckpointFiles {
  return { weights: path.join(dir, 'weights.safetensors'), optimizer: path.join(dir, 'optimizer.safetensors'), state: path.join(dir, 'state.json') };
}

/** best.json: which epoch best.safetensors holds (a sweep cell's weights of its best validation epoch). */
export interface BestEpoch {
  epoch: number;
  macroRecall: number;
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
 *   best.safetensors    a sweep cell's weights of its best validation epoch, and
 *   best.json           which epoch that is (written after the weights)
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
  get bestWeightsFile(): string {
    return path.join(this.dir, 'best.safetensors');
  }
  get bestRecordFile(): string {
    return path.join(this.dir, 'best.json');
  }

  /**
   * Where `egtea eval` saves an evaluation: its own name unless it measured the run's own weights;
   * one with post-hoc logit adjustment t is kept beside the plain one (`eval-test.posthoc-la1.json`).
   */
  evaluationFile(split: EvaluationSplit, foreignDigest?: string, posthocTau?: number): string {
    const parts = [
      `eval-${split}`,
      ...(foreignDigest === undefined ? [] : [foreignDigest.slice(0, 12)]),
      ...(posthocTau === undefined ? [] : [`posthoc-la${posthocTau}`]),
    ];
    return path.join(this.dir, `${parts.join('.')}.json`);
  }

  /** The post-hoc logit adjustments (t) of the run's own weights evaluated on a split, smallest first. */
  async posthocTaus(split: EvaluationSplit): Promise<number[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const pattern = new RegExp(`^eval-${split}\\.posthoc-la([0-9.e+-]+)\\.json$`);
    return names
      .flatMap((name) => {
        const t = Number(pattern.exec(name)?.[1]);
        return Number.isFinite(t) ? [t] : [];
      })
      .sort((a, b) => a - b);
  }

  /** The checkpoint folder, or null when there is none. A kill between the two renames of a save leaves it in checkpoint.old. */
  async findCheckpoint(): Promise<string | null> {
    for (const dir of [this.checkpointDir, this.previousCheckpointDir]) {
      if (await pathExists(checkpointFiles(dir).state)) return dir;
    }
    return null;
  }

  /** The weights to evaluate: model.safetensors, else the last checkpoint's (training unfinished). */
  async weights(): Promise<RunWeights | null> {
    if (await pathExists(this.modelFile)) return { file: this.modelFile, final: true };
    const checkpoint = await this.findCheckpoint();
    if (checkpoint === null) return null;
    const file = checkpointFiles(checkpoint).weights;
    return (await pathExists(file)) ? { file, final: false } : null;
  }

  /** Whether `file` is (a path to) this run's own weights: the model or a checkpoint's. */
  ownsWeights(file: string): boolean {
    const resolved = path.resolve(file);
    const own = [this.modelFile, this.checkpointDir, this.previousCheckpointDir].map((f) => path.resolve(f));
    return resolved === own[0] || own.slice(1).some((dir) => resolved === checkpointFiles(dir).weights);
  }

  /** run.json, checked; a missing or damaged one is named with a way to write it anew that keeps the rest. */
  async readRunInfo(): Promise<RunInfo> {
    const read = await this.checkedRunInfo();
    if ('info' in read) return read.info;
    const kept = await this.results();
    const checkpoint = await this.findCheckpoint();
    if (kept.length === 0 && checkpoint === null) {
      throw new UserError(read.missing ? `${this.runInfoFile}: missing; is this a folder made by egtea train?` : read.problem);
    }
    // Only train, resuming from a checkpoint, can write it anew.
    if (checkpoint === null)
      throw new UserError(`${read.problem}. The rest of ${this.dir} (${kept.join(', ')}) is intact; restore run.json from a copy to read it`);
    throw new UserError(`${read.problem}. ${this.rewriteAdvice()}`);
  }

  /** How to write run.json anew: what it says is kept, and the train option that does it. */
  rewriteAdvice(): string {
    return (
      `The rest of ${this.dir} (checkpoint, history, weights, evaluations) is intact; to keep it, rerun egtea train with the pipeline and data this run was started with, ` +
      `--out ${this.dir} and --rewrite-run-json: it writes run.json anew and resumes (nothing else is deleted). Or restore run.json from a copy`
    );
  }

  /** run.json parsed and checked, or what is wrong with it (missing, or damaged and how). */
  async checkedRunInfo(): Promise<{ info: RunInfo } | { problem: string; missing: boolean }> {
    const file = this.runInfoFile;
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      return { problem: `${file}: ${missing ? 'missing' : (error as Error).message}`, missing };
    }
    let info: RunInfo;
    try {
      info = JSON.parse(text) as RunInfo;
    } catch (error) {
      return { problem: `${file}: damaged, not JSON (${(error as Error).message})`, missing: false };
    }
    if (!Array.isArray(info?.classes) || !info.groups || typeof info.dataRoot !== 'string')
      return { problem: `${file}: damaged, not a run description (classes, groups, dataRoot)`, missing: false };
    try {
      // Runs recorded before each loss had its own settings read in today's layout.
      info.pipeline = validatePipeline(upgradeLegacyPipeline(info.pipeline) as Pipeline, file);
    } catch (error) {
      return { problem: (error as Error).message, missing: false };
    }
    return { info };
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
   * Every epoch record of history.jsonl (none when there is no history yet), each checked for
   * what readers use; a line that is not an epoch record is named with its line number.
   */
  async readHistory(): Promise<EpochRecord[]> {
    const { records, cut } = await this.parseHistory();
    if (cut !== null) throw new UserError(`${this.historyFile}:${cut.line}: ${cut.reason}; the history of a run is written by egtea train`);
    return records;
  }

  /** The history's records, and the first line that is not one (null when every line is). */
  private async parseHistory(): Promise<{ records: EpochRecord[]; cut: { line: number; reason: string; last: boolean } | null }> {
    let text: string;
    try {
      text = await fs.readFile(this.historyFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], cut: null };
      throw new UserError(`${this.historyFile}: ${(error as Error).message}`);
    }
    const lines = text.split('\n');
    const lastLine = lines.findLastIndex((line) => line.trim() !== '');
    const records: EpochRecord[] = [];
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let record: EpochRecord;
      try {
        record = JSON.parse(line) as EpochRecord;
      } catch {
        return { records, cut: { line: i + 1, reason: 'not a JSON line', last: i === lastLine } };
      }
      if (typeof record?.epoch !== 'number' || typeof record.trainLoss !== 'number' || typeof record.validation !== 'object' || record.validation === null) {
        return { records, cut: { line: i + 1, reason: 'not an epoch record (epoch, trainLoss, validation)', last: i === lastLine } };
      }
      records.push(record);
    }
    return { records, cut: null };
  }

  async appendHistory(record: EpochRecord): Promise<void> {
    await this.guardDiskFull(() => fs.appendFile(this.historyFile, `${JSON.stringify(record)}\n`));
  }

  /**
   * The history of epochs 1 to `lastEpoch` (those a checkpoint holds), rewriting the file
   * without later lines: a kill between the history append and the checkpoint leaves one more,
   * whole or cut. A history that lacks any of those epochs (cut, emptied, edited) is refused:
   * resuming over it would leave a history with holes.
   */
  async keepHistoryUpTo(lastEpoch: number): Promise<EpochRecord[]> {
    const { records, cut } = await this.parseHistory();
    // Only the last line may be cut, and only when it is the epoch after the checkpoint.
    const kept = records.filter((r) => r.epoch <= lastEpoch);
    const expected = Array.from({ length: lastEpoch }, (_, i) => i + 1);
    const damaged = (cut !== null && !(cut.last && kept.length === lastEpoch)) || JSON.stringify(kept.map((r) => r.epoch)) !== JSON.stringify(expected);
    if (damaged) {
      const holds = kept.length === 0 ? 'no epochs' : `epochs ${kept.map((r) => r.epoch).join(', ')}`;
      const where = cut !== null ? ` (line ${cut.line}: ${cut.reason})` : '';
      throw new UserError(
        `${this.historyFile}: holds ${holds}${where}, but the checkpoint is after epoch ${lastEpoch}: the history was cut or changed since it was written. ` +
          `Restore it (epochs 1 to ${lastEpoch}, one JSON line each) to resume; or pass --restart to train from the start, or choose another --out to keep this run as it is`,
      );
    }
    if (kept.length !== records.length || cut !== null) {
      await this.guardDiskFull(() => writeFileAtomic(this.historyFile, kept.map((r) => `${JSON.stringify(r)}\n`).join('')));
    }
    return kept;
  }

  /**
   * The run's own evaluation of a split (eval-<split>.json, or a post-hoc logit-adjusted one), checked as every reader checks it,
   * and fresh only when it measured the weights the run holds now (the same SHA-256).
   */
  async readEvaluation(split: EvaluationSplit, classCount: number, posthocTau?: number): Promise<EvaluationReading> {
    const file = this.evaluationFile(split, undefined, posthocTau);
    const rerun = `run egtea eval --run ${this.dir}${split === 'test' ? '' : ` --split ${split}`}${posthocTau === undefined ? '' : ` --posthoc-la ${posthocTau}`}`;
    let document: unknown;
    try {
      document = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing', message: `${file}: missing; ${rerun} first` };
      throw new UserError(`${file}: cannot read an evaluation (${(error as Error).message}); ${rerun} again`);
    }
    const evaluation = checkEvaluation(document, file, classCount, rerun);
    const weights = await this.weights();
    if (weights === null)
      return { state: 'stale', message: `${file}: the run holds no model.safetensors and no checkpoint, so it cannot be checked against the run's weights` };
    if ((await fileDigest(weights.file)) !== evaluation.weightsDigest) {
      return {
        state: 'stale',
        message: `${file}: measured other weights (${evaluation.weights}) than the run holds now (${weights.file}); it is stale: ${rerun} again`,
      };
    }
    return { state: 'current', evaluation };
  }

  /**
   * Keeps a copy of the checkpoint just written as the best epoch's weights, then records which
   * epoch it is. Synchronous, so the next epoch cannot replace the checkpoint while it is copied.
   */
  keepBest(best: BestEpoch): void {
    const target = this.bestWeightsFile;
    fsSync.copyFileSync(checkpointFiles(this.checkpointDir).weights, `${target}.next`);
    fsSync.renameSync(`${target}.next`, target);
    const record = this.bestRecordFile;
    fsSync.writeFileSync(`${record}.next`, `${JSON.stringify(best)}\n`);
    fsSync.renameSync(`${record}.next`, record);
  }

  /** The best epoch recorded with its weights (best.json), or null. */
  async readBest(): Promise<BestEpoch | null> {
    const text = await fs.readFile(this.bestRecordFile, 'utf8').catch(() => null);
    if (text === null) return null;
    try {
      const best = JSON.parse(text) as BestEpoch | null;
      return typeof best?.epoch === 'number' && typeof best.macroRecall === 'number' ? best : null;
    } catch {
      return null; // Cut by a kill: the best is not known, as if none were kept.
    }
  }

  /** Forgets the best weights of an earlier run (a fresh start). */
  async forgetBest(): Promise<void> {
    for (const file of [this.bestRecordFile, this.bestWeightsFile]) await fs.rm(file, { force: true });
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
    const stale = [
      this.historyFile,
      this.modelFile,
      this.tensorboardDir,
      this.checkpointDir,
      this.previousCheckpointDir,
      this.nextCheckpointDir,
      this.bestWeightsFile,
      this.bestRecordFile,
      ...names.filter((n) => EVAL_FILE.test(n)).map((n) => path.join(this.dir, n)),
    ];
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
      throw new UserError(
        `${this.dir}: ${what} while writing the run; free some space and run the same command again: the run resumes from its last checkpoint`,
        { cause: error },
      );
    }
  }
}

/** SHA-256 of a file, hex: what an evaluation records about the weights it measured. */
export async function fileDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
