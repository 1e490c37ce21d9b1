import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkImages, importImages, type ImportImagesOptions } from '../data/images/import-images.js';
import type { Pipeline } from '../config/pipeline.js';
import { environmentValue } from '../util/environment.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';
import { Progress } from '../util/progress.js';
import { projectRoot } from '../util/paths.js';
import { lockOrOutwait, lockRunFolder, lockWhenFree, LockHeldError, OTHER_HOST_STALE_MS, type RunLock } from '../run/run-lock.js';
import { planCells, type Cell, type GridSpec } from './grid.js';
import { packKey, packsOf } from './pack-cells.js';
import { CELL_FILES, DamagedCellResult, ORDERS_WRITTEN, readCellResult, type CellOrder, type CellResult } from './run-cell.js';
import { cellsOfShard, describeSweepShard, type SweepShard } from './shard.js';
import type { SweepSource } from './source.js';
import { summarizeSweep, writeSummary, type SweepSummary } from './summary.js';

export interface SweepOptions {
  /** The command that owns the folder ('sweep', 'paper table1', ...): another one's folder is refused. */
  command: string;
  pipelineName: string;
  pipeline: Pipeline;
  grid: GridSpec;
  out: string;
  /** Without a source: the data root the pipeline's paths are relative to. */
  dataRoot: string;
  source?: SweepSource;
  jobs: number;
  /** Cells trained together in one process as one graph (src/pack/), when they share a model, input and schedule; default 1. */
  pack?: number;
  baseline: string;
  /** Stop the runs' processes when this process gets SIGINT or SIGTERM (the command line does). */
  stopOnSignal?: boolean;
  /** false: run nothing, only summarise the cells already finished (default true). */
  run?: boolean;
  log?: (line: string) => void;
  /** Count the cells (finished, skipped, failed) on stderr: a live bar on a terminal, with the log's lines above it; a line at every tenth in a log. */
  progress?: boolean;
  /**
   * Run only this shard's cells (every count-th of the grid); the other shards run theirs into the
   * same folder, on this machine or others sharing its file system. The summary covers every cell.
   */
  shard?: SweepShard | null;
}

/** sweep.json: what made the folder; a rerun of the same sweep resumes it. */
interface SweepRecord {
  command: string;
  pipeline: string;
  source: SweepSource | null;
  grid: GridSpec;
}

export const SWEEP_FILE = 'sweep.json';

/** The egtea command line of this installation, for the runs' processes. */
function egteaBin(): string {
  return path.join(projectRoot(), 'bin', 'egtea');
}

/** Where a sweep process keeps its lock, so a second sweep of the same shard on one folder is refused. */
const LOCKS_DIR = 'locks';

/**
 * What only a sweep writes: a folder holding nothing else but no sweep.json is a sweep whose record
 * is being written (another shard starting at the same moment) or was deleted (being damaged).
 */
function sweepEntry(name: string): boolean {
  const written = name.replace(/\.tmp-[^/]*$/, ''); // A file of writeFileAtomic's, cut by a kill.
  return [LOCKS_DIR, 'runs', 'data', SWEEP_FILE, 'summary.json', 'summary.md', 'summary.csv', 'paper-table.md'].includes(written);
}

/**
 * Checks that `out` is empty or holds this sweep (same command, pipeline and source); the grid may
 * grow. Returns false when sweep.json is damaged, which only a run refuses (see claimFolder).
 */
async function checkFolder(options: SweepOptions): Promise<boolean> {
  const file = path.join(options.out, SWEEP_FILE);
  // Listed first: a shard starting meanwhile writes sweep.json before anything else.
  const entries = await fs.readdir(options.out).catch(() => [] as string[]);
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) {
    if (entries.some((e) => !sweepEntry(e))) throw new UserError(`${options.out}: not empty and not a sweep folder (no ${SWEEP_FILE}); choose another --out`);
    return true;
  }
  let previous: SweepRecord;
  try {
    previous = JSON.parse(text) as SweepRecord;
    if (typeof previous?.command !== 'string') throw new Error('no command');
  } catch {
    return false;
  }
  if (previous.command !== options.command)
    throw new UserError(
      `${file}: ${options.out} was made by egtea ${previous.command}, not egtea ${options.command}; rerun that command, or choose another --out`,
    );
  const same = (r: SweepRecord) => JSON.stringify({ p: r.pipeline, s: r.source });
  const record = sweepRecord(options);
  if (same(previous) !== same(record))
    throw new UserError(
      `${file}: ${options.out} holds a sweep of pipeline ${previous.pipeline} on ${previous.source?.dir ?? 'its data root'}${previous.source?.classes ? ` (classes ${previous.source.classes.minority},${previous.source.classes.majority})` : ''}; choose another --out`,
    );
  return true;
}

function sweepRecord(options: SweepOptions): SweepRecord {
  return { command: options.command, pipeline: options.pipelineName, source: options.source ?? null, grid: options.grid };
}

function damagedSweepFile(options: SweepOptions): string {
  return `${path.join(options.out, SWEEP_FILE)}: damaged, so egtea cannot tell which sweep ${options.out} holds. If it is this one, delete ${SWEEP_FILE} and run again: finished cells are kept and unfinished ones resume (--no-run summarises meanwhile); otherwise choose another --out`;
}

/**
 * Takes the sweep folder for this process: its lock (one sweep per shard at a time; the shards of
 * one sweep share the folder) and sweep.json. The lock is held until the sweep ends.
 */
async function claimFolder(options: SweepOptions): Promise<RunLock> {
  if (!(await checkFolder(options))) throw new UserError(damagedSweepFile(options));
  await fs.mkdir(path.join(options.out, LOCKS_DIR), { recursive: true });
  const shard = options.shard ?? null;
  const name = shard === null || shard.count === 1 ? 'sweep.lock' : `sweep-shard-${shard.index}-of-${shard.count}.lock`;
  const file = path.join(options.out, LOCKS_DIR, name);
  const lock = await lockOrOutwait(
    file,
    shard === null || shard.count === 1 ? 'sweep' : `sweep of shard ${shard.index}/${shard.count}`,
    'sweep folder',
    (held) =>
      options.log?.(
        `${file}: held by ${held.holder.host} (pid ${held.holder.pid}); waiting up to ${OTHER_HOST_STALE_MS / 60_000} minutes in case it is a task killed there`,
      ),
  );
  try {
    await writeFileAtomic(path.join(options.out, SWEEP_FILE), `${JSON.stringify(sweepRecord(options), null, 2)}\n`);
  } catch (error) {
    await lock.release();
    throw error;
  }
  return lock;
}

function imageOptions(source: SweepSource, out: string, cell: Cell): ImportImagesOptions {
  return {
    dataset: source.dataset,
    source: source.dir,
    out: path.join(out, 'data', cell.dataKey),
    seed: cell.seed,
    ...(cell.build['dataset.majorityRatio'] !== undefined ? { majorityRatio: cell.build['dataset.majorityRatio'] } : {}),
    ...(cell.build['dataset.imbalance'] !== undefined ? { imbalance: cell.build['dataset.imbalance'] } : {}),
    ...(source.classes ? { classes: source.classes } : {}),
    ...(source.sizes ? { sizes: source.sizes } : {}),
  };
}

/** The dataset root a cell trains on, and the pipeline pointed at it. */
function cellData(options: SweepOptions, cell: Cell): { dataRoot: string; pipeline: Pipeline } {
  if (!options.source) return { dataRoot: path.resolve(options.dataRoot), pipeline: cell.pipeline };
  const root = path.resolve(options.out, 'data', cell.dataKey);
  return {
    dataRoot: root,
    pipeline: { ...cell.pipeline, dataset: { ...cell.pipeline.dataset, annotations: path.join(root, 'annotations'), frames: path.join(root, 'frames') } },
  };
}

/** The runs' processes, stopped with the sweep so a rerun never meets an orphan still training. */
const children = new Set<ChildProcess>();
let forwarding = false;

function stopChildrenOnSignal(): void {
  if (forwarding) return;
  forwarding = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of children) child.kill(signal);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A process started for one cell or a pack of cells; it waits for `ordersWritten` before it reads them. */
interface CellProcess {
  /** Tells the process its cells' orders are written (ignored when it has already ended: `exit` says why). */
  ordersWritten(): void;
  stop(): void;
  exit: Promise<{ code: number; lastLine: string }>;
}

/**
 * Starts one cell as its own process (egtea sweep-cell), or several as one pack (egtea sweep-pack,
 * which writes each cell's run.log itself), with its share of the cores.
 */
async function startCellProcess(folders: readonly string[], threads: number): Promise<CellProcess> {
  const packed = folders.length > 1;
  const handle = await fs.open(packed ? '/dev/null' : path.join(folders[0]!, CELL_FILES.log), 'a');
  const env = {
    ...process.env,
    TF_NUM_INTRAOP_THREADS: String(threads),
    TF_NUM_INTEROP_THREADS: String(threads),
    EGTEA_KERNEL_THREADS: String(threads),
    OMP_NUM_THREADS: String(threads),
  };
  // The IPC channel closes when this process dies, however it dies: the cells stop with it (see egtea sweep-cell).
  const child = spawn(process.execPath, [egteaBin(), ...(packed ? ['sweep-pack', ...folders] : ['sweep-cell', folders[0]!])], {
    env,
    stdio: ['ignore', handle.fd, 'pipe', 'ipc'],
  });
  children.add(child);
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (!packed) void handle.write(chunk);
    tail = (tail + chunk.toString()).slice(-2000);
  });
  const exit = new Promise<{ code: number; lastLine: string }>((resolve, reject) => {
    child.on('error', (error) => void handle.close().then(() => reject(error)));
    child.on('close', (code) => {
      children.delete(child);
      void handle.close().then(() => {
        // The command's own message (egtea: ...) over Node's trailer of a crash.
        const lines = tail.trim().split('\n');
        resolve({ code: code ?? 1, lastLine: lines.findLast((l) => l.startsWith('egtea: ')) ?? lines.at(-1) ?? '' });
      });
    });
  });
  return {
    ordersWritten: () => {
      if (child.connected) child.send(ORDERS_WRITTEN, () => {});
    },
    stop: () => child.kill('SIGTERM'),
    exit,
  };
}

/** A cell's result, or null when it has none; a damaged result.json is told and the cell evaluated again. */
async function finishedResult(folder: string, cell: Cell, say: (line: string) => void): Promise<CellResult | null> {
  try {
    return await readCellResult(folder, cell.pipeline.schedule.epochs);
  } catch (error) {
    if (!(error instanceof DamagedCellResult)) throw error;
    say(`warning: ${error.file}: damaged (${error.reason}); evaluating the cell again from its trained model`);
    return null;
  }
}

function cellFolder(options: SweepOptions, cell: Cell): string {
  return path.join(options.out, 'runs', cell.name);
}

/** The message a packed cell's log ends with when it failed (run-pack.ts), or null. */
async function lastFailureLine(folder: string): Promise<string | null> {
  const text = await fs.readFile(path.join(folder, CELL_FILES.log), 'utf8').catch(() => '');
  return (
    text
      .trim()
      .split('\n')
      .findLast((l) => l.startsWith('egtea: ')) ?? null
  );
}

/**
 * Runs a grid of losses x settings x seeds, each cell a run folder under <out>/runs, K at a time
 * as processes (with --pack, up to that many cells that share a model, input and schedule in each
 * process, trained as one graph: src/pack/); finished cells are skipped and killed ones resume.
 * With a shard, only its cells: each is claimed (a lock in its folder) while it runs, so shards
 * sharing the folder, and a retried task of a killed one, never run a cell twice at once. Then
 * summarises every cell of the grid.
 */
export async function runSweep(options: SweepOptions): Promise<SweepSummary & { failed: { cell: string; message: string }[] }> {
  const log = options.log ?? (() => {});
  if (options.source && options.pipeline.clips.frames !== 1) {
    throw new UserError(
      `pipeline ${options.pipelineName} takes clips of ${options.pipeline.clips.frames} frames; the images --source builds are one-frame clips: choose a pipeline made for images (mnist-imbalanced, fashion-mnist, cifar100-lt, ...)`,
    );
  }
  const cells = planCells(options.pipeline, options.grid, { buildsData: options.source !== undefined });
  const summarize = async () => {
    const summary = await summarizeSweep(options.out, cells, {
      baseline: options.baseline,
      source: options.source ?? null,
      pipelineName: options.pipelineName,
      jobs: options.jobs,
    });
    await writeSummary(options.out, summary);
    return summary;
  };
  if (options.run === false) {
    // Summarising reads what every shard finished; it writes only the summary files.
    if (!(await pathExists(path.join(options.out, SWEEP_FILE)))) throw new UserError(`${options.out}: no ${SWEEP_FILE}; nothing to summarise`);
    if (!(await checkFolder(options))) log(`warning: ${damagedSweepFile(options)}`);
    return { ...(await summarize()), failed: [] };
  }
  const mine = cellsOfShard(cells, options.shard ?? null);
  if (options.source) {
    // Every cell's images are chosen (not written) first, so a source too small for one cell stops the sweep before anything runs.
    const keys = [...new Map(mine.map((c) => [c.dataKey, c])).values()];
    for (const cell of keys) await checkImages(imageOptions(options.source, options.out, cell));
  }
  const folderLock = await claimFolder(options);
  try {
    if (options.shard) {
      const { index, count } = options.shard;
      log(
        `${describeSweepShard(options.shard)}: ${mine.length} of the grid's ${cells.length} cells (cells ${index}${index + count <= cells.length ? `, ${index + count}` : ''}${index + 2 * count <= cells.length ? ', ...' : ''})`,
      );
    }
    return { ...(await runCells(options, mine)), ...(await summarize()) };
  } finally {
    await folderLock.release();
  }
}

/**
 * Runs the given cells, `jobs` processes at a time, each process one cell or one pack of cells
 * (--pack); a cell another process holds is come back to at the end, waiting for it.
 */
async function runCells(options: SweepOptions, cells: readonly Cell[]): Promise<{ failed: { cell: string; message: string }[] }> {
  const log = options.log ?? (() => {});
  if (options.stopOnSignal) stopChildrenOnSignal();
  const builds = new Map<string, Promise<void>>();
  // Shards building one image folder take turns (a lock beside it); the second finds the images written.
  const ensureData = (cell: Cell, say: (line: string) => void): Promise<void> => {
    const source = options.source;
    if (!source) return Promise.resolve();
    let build = builds.get(cell.dataKey);
    if (!build) {
      const images = imageOptions(source, options.out, cell);
      build = (async () => {
        await fs.mkdir(path.dirname(images.out), { recursive: true });
        const lock = await lockWhenFree(`${images.out}.lock`, 'image build', 'image folder', (held) =>
          say(`${cell.dataKey}: waiting while another process builds its images (${held.holder.host}, pid ${held.holder.pid})`),
        );
        try {
          await importImages(images);
        } finally {
          await lock.release();
        }
      })();
      builds.set(cell.dataKey, build);
    }
    return build;
  };
  const failed: { cell: string; message: string }[] = [];
  const progress = options.progress ? new Progress(`egtea ${options.command}: cells`, cells.length) : null;
  const say = (line: string) => (progress ? progress.log(line) : log(line));
  let done = 0;
  const unfinished: Cell[] = [];
  for (const cell of cells) {
    if ((await finishedResult(cellFolder(options, cell), cell, say)) === null) {
      unfinished.push(cell);
    } else {
      say(`[${++done}/${cells.length}] ${cell.name}: already finished`);
      progress?.tick('skipped');
    }
  }
  const queue = packsOf(unfinished, options.pack ?? 1, (cell) => packKey(cell.pipeline));
  // The cores this process may run on (a Slurm allocation binds them) shared between the processes at once (fewer
  // than --jobs for a grid of one or two packs), unless TF_NUM_INTRAOP_THREADS gives each's (a container's CPU limit
  // binds no cores: docs/sweeps.md).
  const given = Number(environmentValue('TF_NUM_INTRAOP_THREADS'));
  const threads =
    Number.isSafeInteger(given) && given > 0 ? given : Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, Math.min(options.jobs, queue.length))));
  const deferred: Cell[] = [];

  /** Claims each cell of a unit; one another process holds is deferred (`wait` false) or waited for. */
  const claimUnit = async (unit: readonly Cell[], wait: boolean): Promise<{ cell: Cell; claim: RunLock }[]> => {
    const claimed: { cell: Cell; claim: RunLock }[] = [];
    for (const cell of unit) {
      const folder = cellFolder(options, cell);
      await fs.mkdir(folder, { recursive: true });
      const claimFile = path.join(folder, CELL_FILES.claim);
      try {
        claimed.push({ cell, claim: await lockRunFolder(claimFile, 'sweep', 'cell') });
      } catch (error) {
        if (!(error instanceof LockHeldError)) throw error;
        if (!wait) {
          say(`${cell.name}: another process is running it (${error.holder.host}, pid ${error.holder.pid}); coming back to it after the other cells`);
          deferred.push(cell);
          continue;
        }
        claimed.push({ cell, claim: await lockWhenFree(claimFile, 'sweep', 'cell') });
      }
    }
    return claimed;
  };

  /** One process: a cell, or a pack of cells trained as one graph. */
  const runUnit = async (unit: readonly Cell[], wait: boolean): Promise<void> => {
    const claimed = await claimUnit(unit, wait);
    try {
      const started = Date.now();
      const torun: Cell[] = [];
      for (const { cell } of claimed) {
        // Finished by the process that held it meanwhile? (A damaged result was told already.)
        if ((await finishedResult(cellFolder(options, cell), cell, () => {})) !== null) {
          say(`[${++done}/${cells.length}] ${cell.name}: finished by another process`);
          progress?.tick('skipped');
          continue;
        }
        torun.push(cell);
      }
      if (torun.length === 0) return;
      // The process starts first and loads TensorFlow while the images are built; it reads its orders when told.
      const cellProcess = await startCellProcess(
        torun.map((cell) => cellFolder(options, cell)),
        threads,
      );
      try {
        for (const cell of torun) {
          await ensureData(cell, say);
          const posthoc = cell.variant.loss === 'ce' && options.grid.posthocTau !== undefined ? { posthocTau: options.grid.posthocTau } : {};
          const order: CellOrder = { ...cellData(options, cell), scheduleScaling: cell.scheduleScaling, ...posthoc };
          await writeFileAtomic(path.join(cellFolder(options, cell), CELL_FILES.order), `${JSON.stringify(order, null, 2)}\n`);
        }
      } catch (error) {
        cellProcess.stop();
        await cellProcess.exit.catch(() => {});
        throw error;
      }
      cellProcess.ordersWritten();
      const child = await cellProcess.exit;
      for (const cell of torun) {
        const folder = cellFolder(options, cell);
        const result = await finishedResult(folder, cell, say);
        if ((child.code !== 0 && torun.length === 1) || result === null) {
          // A packed cell's own message ends its log; the process's last line otherwise.
          const message = (torun.length > 1 ? await lastFailureLine(folder) : null) ?? child.lastLine;
          failed.push({ cell: cell.name, message: `${message} (log: ${path.join(folder, CELL_FILES.log)})` });
          say(`[${++done}/${cells.length}] ${cell.name}: FAILED: ${message}`);
          progress?.tick('failed');
          continue;
        }
        say(
          `[${++done}/${cells.length}] ${cell.name}: test error ${(100 * (1 - result.final.overall.top1!)).toFixed(2)}% (best validation epoch ${result.best.epoch}: ${(100 * (1 - result.best.overall.top1!)).toFixed(2)}%), ${((Date.now() - started) / 1000).toFixed(0)} s${torun.length > 1 ? ` (packed with ${torun.length - 1} more)` : ''}`,
        );
        progress?.tick('done');
      }
    } finally {
      for (const { claim } of claimed) await claim.release();
    }
  };
  const worker = async () => {
    for (;;) {
      const fresh = queue.shift();
      if (fresh !== undefined) {
        await runUnit(fresh, false);
        continue;
      }
      const cell = deferred.shift();
      if (cell === undefined) return;
      await runUnit([cell], true);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, queue.length)) }, worker));
  } finally {
    progress?.finish();
  }
  return { failed };
}
