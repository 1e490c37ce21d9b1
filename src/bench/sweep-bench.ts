import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fashionMnist from '../../pipelines/fashion-mnist.js';
import type { ClassPair } from '../data/images/class-pair.js';
import { importImages } from '../data/images/import-images.js';
import { runSweep } from '../sweep/sweep.js';
import { UserError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import { runPackBench, type PackBenchOptions, type PackBenchResult } from './pack-bench.js';
import { median, runPythonReference } from './reference.js';
import { RunFolder } from '../run/run-folder.js';
import type { CellResult } from '../sweep/run-cell.js';

export interface SweepBenchOptions {
  /** Fashion-MNIST's (or MNIST's) IDX files. */
  source: string;
  classes: ClassPair;
  /** Epochs of the Table-1 run on each side (40 = 2000 iterations). */
  epochs: number;
  /** Times the Table-1 run goes round (PyTorch in memory, egtea, PyTorch from JPEGs); the ratios are of medians. */
  repeats: number;
  /** Epochs of each run of the --jobs grid (4 runs). */
  gridEpochs: number;
  /** Times the grid runs with --jobs 1 and then --jobs 2 (alternating; the speedup is the ratio of medians); 0: no grid. */
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
  /** null: only the packed grid was measured. */
  run: TableOneRun | null;
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

/** One side of the Table-1 run: medians over the repeats. */
export interface RunTimes {
  /** The whole process, start to end (egtea: the `egtea sweep` command, images built and summary written). */
  seconds: number;
  /** The epochs alone (training and validation after each): egtea's history, PyTorch's loop. */
  loopSeconds: number;
  /**
   * CPU time (user + system) of the whole process and its children; null without /proc. Less
   * hit by a shared machine than wall time, though threads that spin while waiting count too.
   */
  cpuSeconds: number | null;
  repeats: number[];
  validationTop1: number | null;
  /** Test error (%) of the final and of the best-validation model. */
  testError: { final: number; best: number } | null;
}

export interface TableOneRun {
  epochs: number;
  iterations: number;
  egtea: RunTimes;
  /** The main reference: the images decoded once into one tensor, torch.randperm batches. */
  pytorchMemory: RunTimes;
  /** Every image decoded from its JPEG through PIL every epoch (a DataLoader). */
  pytorchJpeg: RunTimes;
  /** egtea over each reference: whole process, and the epochs alone. */
  ratios: { memory: number; memoryLoop: number; jpeg: number; jpegLoop: number };
  goal: number;
  met: boolean;
  /** Arithmetic of the run (training counted as 3 forward passes) over each side's whole time, beside the engine's matmul peak. */
  flops: { total: number; egteaGflops: number; pytorchMemoryGflops: number; peakGflops: number; peakMatmul: number };
}

/**
 * Multiply-adds of LeNet-5 (egtea's: 5x5 convolutions to 6 and 16 channels, each then 2x2
 * pooled, then 120, 84 and the classes) on one size x size x channels image.
 */
function lenet5MultiplyAdds(size: number, channels: number, classes: number): number {
  const c1 = size - 4;
  const c2 = c1 / 2 - 4;
  const flat = 16 * (c2 / 2) ** 2;
  return c1 * c1 * 6 * 25 * channels + c2 * c2 * 16 * 25 * 6 + flat * 120 + 120 * 84 + 84 * classes;
}

/**
 * The engine's float32 peak on this machine as the runs see it: the best of a few n x n matmuls
 * (one TensorFlow call each), in GFLOP/s.
 */
function matmulPeakGflops(n = 2048, reps = 5): number {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  let best = Infinity;
  for (let i = 0; i <= reps; i++) {
    const started = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    const ms = performance.now() - started;
    c.dispose();
    // The first call warms up (allocation, oneDNN's choice of kernel).
    if (i > 0) best = Math.min(best, ms);
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / (best / 1000) / 1e9;
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
 * One Table-1 run (LeNet-5, 5000 images, validation after every epoch, the final and the
 * best-validation model on the test split) as `egtea sweep` of one cell, start to summary,
 * beside two PyTorch scripts on the same images: the images held in memory (the main reference)
 * and decoded from their JPEGs every epoch; then a 4-run grid with --jobs 1 and --jobs 2. Each
 * side's time is its whole process; the epochs alone are reported beside it.
 */
export async function runSweepBench(options: SweepBenchOptions): Promise<SweepBenchResult> {
  const log = options.log ?? (() => {});
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-bench-sweep-'));
  try {
    const dataRoot = path.join(work, 'data');
    const images = path.join(dataRoot, 'fashion-mnist-imbalanced');
    const majorityRatio = 0.98;
    // The images the sweep's cell builds for seed 1, for the references.
    log(`building the images (majority ratio ${majorityRatio}, seed 1)...`);
    await importImages({ dataset: 'mnist-imbalanced', source: options.source, out: images, seed: 1, majorityRatio, classes: options.classes });
    const threads = os.cpus().length;
    const pack =
      options.pack.pack > 1
        ? await runPackBench(work, { ...options.pack, source: options.source, classes: options.classes, epochs: options.gridEpochs, log })
        : null;
    if (options.onlyPack) return { threads, torch: null, pack, run: null, grid: null, load: os.loadavg() };
    const { mean, std } = fashionMnist.clips.transform;
    const pytorch = (mode: 'memory' | 'jpeg') => {
      const cpu = childrenCpuSeconds();
      const r = runPythonReference(path.join('sweep', 'reference.py'), [
        '--data',
        images,
        '--mode',
        mode,
        '--epochs',
        String(options.epochs),
        '--threads',
        String(threads),
        '--mean',
        String(mean[0]),
        '--std',
        String(std[0]),
      ]);
      const test = r.testAccuracy as { final: number; best: number };
      const after = childrenCpuSeconds();
      return {
        seconds: r.seconds as number,
        loopSeconds: r.loopSeconds as number,
        cpuSeconds: cpu === null || after === null ? null : after - cpu,
        validationTop1: r.validationAccuracy as number,
        testError: { final: 100 * (1 - test.final), best: 100 * (1 - test.best) },
        torch: String(r.torch),
        train: r.train as number,
        validation: r.validation as number,
        test: r.test as number,
      };
    };
    // The whole command a user runs for one Table-1 cell: images built from the source, training, the test evaluations, the summary.
    const egtea = async (repeat: number) => {
      const out = path.join(work, `sweep-${repeat}`);
      const cpu = childrenCpuSeconds();
      const started = Date.now();
      const child = spawnSync(
        process.execPath,
        [
          path.join(projectRoot(), 'bin', 'egtea'),
          'sweep',
          '--pipeline',
          'fashion-mnist',
          '--loss',
          'ce',
          '--seeds',
          '1',
          '--epochs',
          String(options.epochs),
          '--source',
          options.source,
          '--classes',
          `${options.classes.minority},${options.classes.majority}`,
          '--set',
          `dataset.majorityRatio=${majorityRatio}`,
          '--out',
          out,
        ],
        { encoding: 'utf8' },
      );
      const seconds = (Date.now() - started) / 1000;
      const after = childrenCpuSeconds();
      if (child.status !== 0) throw new UserError(`egtea sweep failed in the benchmark: ${child.stderr.trim().split('\n').at(-1)}`);
      const [cell] = await fs.readdir(path.join(out, 'runs'));
      const folder = path.join(out, 'runs', cell!);
      const history = await new RunFolder(folder).readHistory();
      const result = JSON.parse(await fs.readFile(path.join(folder, 'result.json'), 'utf8')) as CellResult;
      return {
        seconds,
        loopSeconds: history.reduce((sum, r) => sum + r.seconds, 0),
        cpuSeconds: cpu === null || after === null ? null : after - cpu,
        validationTop1: history.at(-1)!.validation.top1,
        testError: { final: 100 * (1 - (result.final.overall.top1 ?? 0)), best: 100 * (1 - (result.best.overall.top1 ?? 0)) },
      };
    };
    type Side = Awaited<ReturnType<typeof egtea>>;
    const sides: { memory: ReturnType<typeof pytorch>[]; egtea: Side[]; jpeg: ReturnType<typeof pytorch>[] } = { memory: [], egtea: [], jpeg: [] };
    // Taking turns, so a slow spell of a shared machine falls on every side.
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      const of = `${repeat + 1} of ${options.repeats}`;
      log(`Table-1 run ${of}: PyTorch, images in memory, ${options.epochs} epochs...`);
      sides.memory.push(pytorch('memory'));
      log(`Table-1 run ${of}: egtea sweep, one cell, ${options.epochs} epochs...`);
      sides.egtea.push(await egtea(repeat));
      log(`Table-1 run ${of}: PyTorch, JPEGs decoded every epoch, ${options.epochs} epochs...`);
      sides.jpeg.push(pytorch('jpeg'));
    }
    const times = (runs: Side[]): RunTimes => ({
      seconds: median(runs.map((r) => r.seconds)),
      loopSeconds: median(runs.map((r) => r.loopSeconds)),
      cpuSeconds: runs.some((r) => r.cpuSeconds === null) ? null : median(runs.map((r) => r.cpuSeconds!)),
      repeats: runs.map((r) => r.seconds),
      validationTop1: runs.at(-1)!.validationTop1,
      testError: runs.at(-1)!.testError,
    });
    const egteaTimes = times(sides.egtea);
    const memory = times(sides.memory);
    const jpeg = times(sides.jpeg);
    const reference = sides.memory[0]!;
    const iterationsPerEpoch = Math.ceil(reference.train / 100);
    const forward = 2 * lenet5MultiplyAdds(fashionMnist.clips.transform.size, 3, 2);
    // Per epoch: training (forward and backward, about 3 forward passes) and validation; then the final and best models on the test split.
    const total = options.epochs * (3 * reference.train + reference.validation) * forward + 2 * reference.test * forward;
    log("the engine's float32 peak: 2048 x 2048 matmuls...");
    const peakGflops = matmulPeakGflops();
    const run: TableOneRun = {
      epochs: options.epochs,
      iterations: options.epochs * iterationsPerEpoch,
      egtea: egteaTimes,
      pytorchMemory: memory,
      pytorchJpeg: jpeg,
      ratios: {
        memory: egteaTimes.seconds / memory.seconds,
        memoryLoop: egteaTimes.loopSeconds / memory.loopSeconds,
        jpeg: egteaTimes.seconds / jpeg.seconds,
        jpegLoop: egteaTimes.loopSeconds / jpeg.loopSeconds,
      },
      goal: 1,
      met: egteaTimes.seconds <= memory.seconds,
      flops: { total, egteaGflops: total / egteaTimes.seconds / 1e9, pytorchMemoryGflops: total / memory.seconds / 1e9, peakGflops, peakMatmul: 2048 },
    };
    if (options.gridRepeats === 0) return { threads, torch: reference.torch, pack, run, grid: null, load: os.loadavg() };

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
      torch: reference.torch,
      pack,
      run,
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
