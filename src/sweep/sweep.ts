import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkImages, importImages, type ImageDataset, type ImportImagesOptions } from '../data/images/import-images.js';
import type { ClassPair } from '../data/images/class-pair.js';
import type { Pipeline } from '../train/pipeline.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';
import { Progress } from '../util/progress.js';
import { projectRoot } from '../util/paths.js';
import { planCells, type Cell, type GridSpec } from './grid.js';
import { packKey, packsOf } from '../pack/pack-cells.js';
import { CELL_FILES, readCellResult, type CellOrder } from './run-cell.js';
import { summarizeSweep, writeSummary, type SweepSummary } from './summary.js';

/** How a sweep builds each cell's images from public files (egtea images). */
export interface SweepSource {
  dataset: ImageDataset;
  dir: string;
  classes?: ClassPair;
  /** mnist-imbalanced: images per split instead of the paper's 5000 / 500 / 800 (a scaled protocol). */
  sizes?: { trainingImages: number; validationPerClass: number; testPerClass: number };
}

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

async function claimFolder(options: SweepOptions): Promise<void> {
  const file = path.join(options.out, SWEEP_FILE);
  const record: SweepRecord = { command: options.command, pipeline: options.pipelineName, source: options.source ?? null, grid: options.grid };
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) {
    const entries = await fs.readdir(options.out).catch(() => []);
    if (entries.length > 0) throw new UserError(`${options.out}: not empty and not a sweep folder (no ${SWEEP_FILE}); choose another --out`);
  } else {
    const previous = JSON.parse(text) as SweepRecord;
    if (previous.command !== options.command) throw new UserError(`${file}: ${options.out} was made by egtea ${previous.command}, not egtea ${options.command}; rerun that command, or choose another --out`);
    const same = (r: SweepRecord) => JSON.stringify({ p: r.pipeline, s: r.source });
    if (same(previous) !== same(record)) throw new UserError(`${file}: ${options.out} holds a sweep of pipeline ${previous.pipeline} on ${previous.source?.dir ?? 'its data root'}${previous.source?.classes ? ` (classes ${previous.source.classes.minority},${previous.source.classes.majority})` : ''}; choose another --out`);
  }
  await fs.mkdir(options.out, { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
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
  return { dataRoot: root, pipeline: { ...cell.pipeline, dataset: { ...cell.pipeline.dataset, annotations: path.join(root, 'annotations'), frames: path.join(root, 'frames') } } };
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

/**
 * Runs one cell as its own process (egtea sweep-cell), or several as one pack (egtea sweep-pack,
 * which writes each cell's run.log itself), with its share of the cores.
 */
function runChild(folders: readonly string[], threads: number): Promise<{ code: number; lastLine: string }> {
  const packed = folders.length > 1;
  return new Promise((resolve, reject) => {
    void fs.open(packed ? '/dev/null' : path.join(folders[0]!, CELL_FILES.log), 'a').then((handle) => {
      const env = { ...process.env, TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: String(threads), EGTEA_KERNEL_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
      const child = spawn(process.execPath, [egteaBin(), ...(packed ? ['sweep-pack', ...folders] : ['sweep-cell', folders[0]!])], { env, stdio: ['ignore', handle.fd, 'pipe'] });
      children.add(child);
      let tail = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        if (!packed) void handle.write(chunk);
        tail = (tail + chunk.toString()).slice(-2000);
      });
      child.on('error', (error) => void handle.close().then(() => reject(error)));
      child.on('close', (code) => {
        children.delete(child);
        void handle.close().then(() => {
          // The command's own message (egtea: ...) over Node's trailer of a crash.
          const lines = tail.trim().split('\n');
          resolve({ code: code ?? 1, lastLine: lines.findLast((l) => l.startsWith('egtea: ')) ?? lines.at(-1) ?? '' });
        });
      });
    }, reject);
  });
}

function cellFolder(options: SweepOptions, cell: Cell): string {
  return path.join(options.out, 'runs', cell.name);
}

/** The message a packed cell's log ends with when it failed (run-pack.ts), or null. */
async function lastFailureLine(folder: string): Promise<string | null> {
  const text = await fs.readFile(path.join(folder, CELL_FILES.log), 'utf8').catch(() => '');
  return text.trim().split('\n').findLast((l) => l.startsWith('egtea: ')) ?? null;
}

/**
 * Runs a grid of losses x settings x seeds, each cell a run folder under <out>/runs, K at a time
 * as processes (with --pack, up to that many cells that share a model, input and schedule in each
 * process, trained as one graph: src/pack/); finished cells are skipped and killed ones resume.
 * Then summarises.
 */
export async function runSweep(options: SweepOptions): Promise<SweepSummary & { failed: { cell: string; message: string }[] }> {
  const log = options.log ?? (() => {});
  const cells = planCells(options.pipeline, options.grid, { buildsData: options.source !== undefined });
  if (options.run === false) {
    if (!(await pathExists(path.join(options.out, SWEEP_FILE)))) throw new UserError(`${options.out}: no ${SWEEP_FILE}; nothing to summarise`);
    await claimFolder(options);
    const summary = await summarizeSweep(options.out, cells, { baseline: options.baseline, source: options.source ?? null, pipelineName: options.pipelineName, jobs: options.jobs });
    await writeSummary(options.out, summary);
    return { ...summary, failed: [] };
  }
  if (options.source) {
    // Every cell's images are chosen (not written) first, so a source too small for one cell stops the sweep before anything runs.
    const keys = [...new Map(cells.map((c) => [c.dataKey, c])).values()];
    for (const cell of keys) await checkImages(imageOptions(options.source, options.out, cell));
  }
  await claimFolder(options);
  if (options.stopOnSignal) stopChildrenOnSignal();
  const builds = new Map<string, Promise<void>>();
  const ensureData = (cell: Cell): Promise<void> => {
    const source = options.source;
    if (!source) return Promise.resolve();
    let build = builds.get(cell.dataKey);
    if (!build) {
      build = importImages(imageOptions(source, options.out, cell)).then(() => undefined);
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
    if ((await readCellResult(cellFolder(options, cell), cell.pipeline.schedule.epochs)) === null) {
      unfinished.push(cell);
    } else {
      say(`[${++done}/${cells.length}] ${cell.name}: already finished`);
      progress?.tick('skipped');
    }
  }
  const units = packsOf(unfinished, options.pack ?? 1, (cell) => packKey(cell.pipeline));
  // Fewer processes than --jobs (a grid of one or two packs) share the cores among them.
  const threads = Math.max(1, Math.floor(os.cpus().length / Math.max(1, Math.min(options.jobs, units.length))));
  let next = 0;
  const worker = async () => {
    while (next < units.length) {
      const unit = units[next++]!;
      const started = Date.now();
      for (const cell of unit) {
        await ensureData(cell);
        const folder = cellFolder(options, cell);
        await fs.mkdir(folder, { recursive: true });
        const order: CellOrder = cellData(options, cell);
        await writeFileAtomic(path.join(folder, CELL_FILES.order), `${JSON.stringify(order, null, 2)}\n`);
      }
      const child = await runChild(unit.map((cell) => cellFolder(options, cell)), threads);
      for (const cell of unit) {
        const folder = cellFolder(options, cell);
        const result = await readCellResult(folder, cell.pipeline.schedule.epochs);
        if (result === null) {
          // A packed cell's own message ends its log; the process's last line otherwise.
          const message = (unit.length > 1 ? await lastFailureLine(folder) : null) ?? child.lastLine;
          failed.push({ cell: cell.name, message: `${message} (log: ${path.join(folder, CELL_FILES.log)})` });
          say(`[${++done}/${cells.length}] ${cell.name}: FAILED: ${message}`);
          progress?.tick('failed');
          continue;
        }
        say(`[${++done}/${cells.length}] ${cell.name}: test error ${(100 * (1 - result.final.overall.top1!)).toFixed(2)}% (best validation epoch ${result.best.epoch}: ${(100 * (1 - result.best.overall.top1!)).toFixed(2)}%), ${((Date.now() - started) / 1000).toFixed(0)} s${unit.length > 1 ? ` (packed with ${unit.length - 1} more)` : ''}`);
        progress?.tick('done');
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.jobs, units.length) }, worker));
  } finally {
    progress?.finish();
  }
  const summary = await summarizeSweep(options.out, cells, { baseline: options.baseline, source: options.source ?? null, pipelineName: options.pipelineName, jobs: options.jobs });
  await writeSummary(options.out, summary);
  return { ...summary, failed };
}
