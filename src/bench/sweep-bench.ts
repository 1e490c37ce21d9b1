import { spawnSync } from 'node:child_process';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fashionMnist from '../../pipelines/fashion-mnist.js';
import type { ClassPair } from '../data/images/class-pair.js';
import { importImages } from '../data/images/import-images.js';
import { runSweep } from '../sweep/sweep.js';
import type { EpochRecord } from '../train/trainer.js';
import { UserError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import { runPackBench, type PackBenchOptions, type PackBenchResult } from './pack-bench.js';
import { median, runPythonReference } from './reference.js';
import { RunFolder } from '../run/run-folder.js';

export interface SweepBenchOptions {
  /** Fashion-MNIST's (or MNIST's) IDX files. */
  source: string;
  classes: ClassPair;
  /** Epochs of the Table-1 run on each side (40 = 2000 iterations). */
  epochs: number;
  /** Epochs of each run of the --jobs grid (4 runs). */
  gridEpochs: number;
  /** Times the grid runs with --jobs 1 and then --jobs 2 (alternating; the speedup is the ratio of medians). */
  gridRepeats: number;
  /** The packed grid against the unpacked one (pack-bench.ts); pack 1 leaves it out. */
  pack: Omit<PackBenchOptions, 'source' | 'classes' | 'epochs' | 'log'>;
  /** Only the packed grid (no Table-1 run, no --jobs grid). */
  onlyPack?: boolean;
  log?: (line: string) => void;
}

export interface SweepBenchResult {
  threads: number;
  torch: string | null;
  /** The packed Table-1 grid against the unpacked one, at the grid's epochs (null: not measured). */
  pack: PackBenchResult | null;
  run: null | { epochs: number; iterations: number; egteaSeconds: number; egteaWallSeconds: number; pytorchSeconds: number; ratio: number; goal: number; met: boolean; egteaValidationTop1: number | null; pytorchValidationTop1: number };
  grid: null | {
    runs: number;
    epochs: number;
    /** Medians over the repeats, and each repeat's wall time. */
    jobs1Seconds: number;
    jobs2Seconds: number;
    jobs1Repeats: number[];
    jobs2Repeats: number[];
    speedup: number;
    /** CPU time (user + system) of the runs' processes, per run, over all repeats; null without /proc. */
    jobs1CpuSecondsPerRun: number | null;
    jobs2CpuSecondsPerRun: number | null;
    /** That CPU time over the grids' wall time: the cores kept busy (the sweep's own process not counted). */
    jobs1BusyCores: number | null;
    jobs2BusyCores: number | null;
    /**
     * What --jobs 2 would gain with every core busy at its CPU cost per run: --jobs 1's wall time
     * per run over (--jobs 2's CPU time per run / cores).
     */
    ceiling: number | null;
    goal: number;
    met: boolean;
  };
  load: number[];
}

/** The kernel's clock ticks per second (the unit of /proc's times), asked once. */
let clockTicks: number | undefined;

/**
 * CPU seconds (user + system) of this process's finished children, from /proc/self/stat (cutime
 * and cstime, in clock ticks); null where there is no /proc.
 */
function childrenCpuSeconds(): number | null {
  let text: string;
  try {
    text = fsSync.readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return null;
  }
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]);
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
  return Number.isFinite(ticks) && clockTicks > 0 ? ticks / clockTicks : null;
}

/**
 * One Table-1 run (LeNet-5, 5000 images, validation after every epoch) in egtea and in PyTorch
 * on the same JPEGs, and a 4-run grid with --jobs 1 and --jobs 2. egtea's time is the sum of its
 * epochs (training and validation, as PyTorch's loop is timed), beside the process's wall time.
 */
export async function runSweepBench(options: SweepBenchOptions): Promise<SweepBenchResult> {
  const log = options.log ?? (() => {});
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-bench-sweep-'));
  try {
    const dataRoot = path.join(work, 'data');
    const images = path.join(dataRoot, 'fashion-mnist-imbalanced');
    log('building the images (majority ratio 0.98, seed 1)...');
    await importImages({ dataset: 'mnist-imbalanced', source: options.source, out: images, seed: 1, majorityRatio: 0.98, classes: options.classes });
    const threads = os.cpus().length;
    const pack = options.pack.pack > 1 ? await runPackBench(work, { ...options.pack, source: options.source, classes: options.classes, epochs: options.gridEpochs, log }) : null;
    if (options.onlyPack) return { threads, torch: null, pack, run: null, grid: null, load: os.loadavg() };
    const { mean, std } = fashionMnist.clips.transform;
    log(`PyTorch: ${options.epochs} epochs...`);
    const reference = runPythonReference(path.join('sweep', 'reference.py'), ['--data', images, '--epochs', String(options.epochs), '--threads', String(threads), '--mean', String(mean[0]), '--std', String(std[0])]);
    log(`egtea: ${options.epochs} epochs...`);
    const out = path.join(work, 'run');
    const started = Date.now();
    const child = spawnSync(process.execPath, [path.join(projectRoot(), 'bin', 'egtea'), 'train', '--pipeline', 'fashion-mnist', '--data', dataRoot, '--loss', 'ce', '--epochs', String(options.epochs), '--out', out], { encoding: 'utf8' });
    const wall = (Date.now() - started) / 1000;
    if (child.status !== 0) throw new UserError(`egtea train failed in the benchmark: ${child.stderr.trim().split('\n').at(-1)}`);
    const history = await new RunFolder(out).readHistory<EpochRecord>();
    const egteaSeconds = history.reduce((s, r) => s + r.seconds, 0);
    const ratio = egteaSeconds / (reference.seconds as number);

    const grid = async (jobs: number, repeat: number) => {
      log(`grid of 4 runs (ce, cdb x 2 seeds, ${options.gridEpochs} epochs) with --jobs ${jobs}, repeat ${repeat + 1} of ${options.gridRepeats}...`);
      const cpu = childrenCpuSeconds();
      const t = Date.now();
      const summary = await runSweep({
        command: 'bench sweep',
        pipelineName: 'fashion-mnist',
        pipeline: fashionMnist,
        grid: { losses: ['ce', 'cdb'], taus: ['dynamic'], sets: [], seeds: [1, 2], epochs: options.gridEpochs },
        out: path.join(work, `grid-${jobs}-${repeat}`),
        dataRoot,
        jobs,
        baseline: 'ce',
      });
      if (summary.failed.length > 0) throw new UserError(`the --jobs ${jobs} grid failed: ${summary.failed[0]!.message}`);
      const seconds = (Date.now() - t) / 1000;
      const after = childrenCpuSeconds();
      return { seconds, cpuSeconds: cpu === null || after === null ? null : after - cpu };
    };
    // Alternating, so a slow spell of a shared machine falls on both sides.
    const jobs1: { seconds: number; cpuSeconds: number | null }[] = [];
    const jobs2: { seconds: number; cpuSeconds: number | null }[] = [];
    for (let repeat = 0; repeat < options.gridRepeats; repeat++) {
      jobs1.push(await grid(1, repeat));
      jobs2.push(await grid(2, repeat));
    }
    const jobs1Seconds = median(jobs1.map((r) => r.seconds));
    const jobs2Seconds = median(jobs2.map((r) => r.seconds));
    const runs = 4;
    const usage = (repeats: { seconds: number; cpuSeconds: number | null }[]) => {
      if (repeats.some((r) => r.cpuSeconds === null)) return { perRun: null, busyCores: null };
      const cpu = repeats.reduce((sum, r) => sum + r.cpuSeconds!, 0);
      return { perRun: cpu / (runs * repeats.length), busyCores: cpu / repeats.reduce((sum, r) => sum + r.seconds, 0) };
    };
    const cpu1 = usage(jobs1);
    const cpu2 = usage(jobs2);
    const speedup = jobs1Seconds / jobs2Seconds;
    return {
      threads,
      torch: String(reference.torch),
      pack,
      run: {
        epochs: options.epochs,
        iterations: options.epochs * Math.ceil((reference.train as number) / 100),
        egteaSeconds,
        egteaWallSeconds: wall,
        pytorchSeconds: reference.seconds as number,
        ratio,
        goal: 1,
        met: ratio <= 1,
        egteaValidationTop1: history.at(-1)!.validation.top1,
        pytorchValidationTop1: reference.validationAccuracy as number,
      },
      grid: {
        runs,
        epochs: options.gridEpochs,
        jobs1Seconds,
        jobs2Seconds,
        jobs1Repeats: jobs1.map((r) => r.seconds),
        jobs2Repeats: jobs2.map((r) => r.seconds),
        speedup,
        jobs1CpuSecondsPerRun: cpu1.perRun,
        jobs2CpuSecondsPerRun: cpu2.perRun,
        jobs1BusyCores: cpu1.busyCores,
        jobs2BusyCores: cpu2.busyCores,
        ceiling: cpu2.perRun === null ? null : jobs1Seconds / runs / (cpu2.perRun / threads),
        goal: 1.7,
        met: speedup >= 1.7,
      },
      load: os.loadavg(),
    };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
