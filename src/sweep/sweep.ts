import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkImages, importImages, type ImportImagesOptions } from '../data/images/import-images.js';
import type { Pipeline } from '../config/pipeline.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';
import { Progress } from '../util/progress.js';
import { projectRoot } from '../util/paths.js';
import { planCells, type Cell, type GridSpec } from './grid.js';
import { CELL_FILES, readCellResult, type CellOrder } from './run-cell.js';
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

/** Runs one cell as its own process (egtea sweep-cell), with its share of the cores. */
function runChild(folder: string, threads: number): Promise<{ code: number; lastLine: string }> {
  return new Promise((resolve, reject) => {
    void fs.open(path.join(folder, CELL_FILES.log), 'a').then((handle) => {
      const env = { ...process.env, TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: String(threads), EGTEA_KERNEL_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
      const child = spawn(process.execPath, [egteaBin(), 'sweep-cell', folder], { env, stdio: ['ignore', handle.fd, 'pipe'] });
      children.add(child);
      let tail = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        void handle.write(chunk);
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

/**
 * Runs a grid of losses x settings x seeds, each cell a run folder under <out>/runs, K at a time
 * as processes; finished cells are skipped and killed ones resume. Then summarises.
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
  const threads = Math.max(1, Math.floor(os.cpus().length / options.jobs));
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
  let next = 0;
  const worker = async () => {
    while (next < cells.length) {
      const cell = cells[next++]!;
      const folder = path.join(options.out, 'runs', cell.name);
      const started = Date.now();
      let result = await readCellResult(folder, cell.pipeline.schedule.epochs);
      if (result === null) {
        await ensureData(cell);
        await fs.mkdir(folder, { recursive: true });
        const order: CellOrder = cellData(options, cell);
        await writeFileAtomic(path.join(folder, CELL_FILES.order), `${JSON.stringify(order, null, 2)}\n`);
        const child = await runChild(folder, threads);
        result = await readCellResult(folder, cell.pipeline.schedule.epochs);
        if (child.code !== 0 || result === null) {
          failed.push({ cell: cell.name, message: `${child.lastLine} (log: ${path.join(folder, CELL_FILES.log)})` });
          say(`[${++done}/${cells.length}] ${cell.name}: FAILED: ${child.lastLine}`);
          progress?.tick('failed');
          continue;
        }
        say(`[${++done}/${cells.length}] ${cell.name}: test error ${(100 * (1 - result.final.overall.top1!)).toFixed(2)}% (best validation epoch ${result.best.epoch}: ${(100 * (1 - result.best.overall.top1!)).toFixed(2)}%), ${((Date.now() - started) / 1000).toFixed(0)} s`);
        progress?.tick('done');
      } else {
        say(`[${++done}/${cells.length}] ${cell.name}: already finished`);
        progress?.tick('skipped');
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.jobs, cells.length) }, worker));
  } finally {
    progress?.finish();
  }
  const summary = await summarizeSweep(options.out, cells, { baseline: options.baseline, source: options.source ?? null, pipelineName: options.pipelineName, jobs: options.jobs });
  await writeSummary(options.out, summary);
  return { ...summary, failed };
}
