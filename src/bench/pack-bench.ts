import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import fashionMnist from '../../pipelines/fashion-mnist.js';
import type { ClassPair } from '../data/images/class-pair.js';
import { selectBackend } from '../engine/backend.js';
import { matMul } from '../engine/mat-mul.js';
import { countingContext } from '../models/context.js';
import { runSweep } from '../sweep/sweep.js';
import type { CellResult } from '../sweep/run-cell.js';
import { CELL_FILES } from '../sweep/run-cell.js';
import { RunFolder } from '../run/run-folder.js';
import { createPipelineModel } from '../train/from-pipeline.js';
import { UserError } from '../util/errors.js';
import { median } from './reference.js';

export interface PackBenchOptions {
  source: string;
  classes: ClassPair;
  /** Epochs of every run (40: Table-1 runs). */
  epochs: number;
  /** Cells per pack (--pack). */
  pack: number;
  /** Seeds of the grid: ce and cdb for each, so 2 x seeds runs. */
  seeds: number;
  /** Times each side runs (alternating; medians). */
  repeats: number;
  /** Processes side by side on both sides (--jobs). */
  jobs: number;
  /** A GPU's FP32 peak (TFLOP/s) for the estimate of a packed grid there. */
  gpuTflops: number;
  log?: (line: string) => void;
}

export interface PackBenchResult {
  runs: number;
  epochs: number;
  pack: number;
  jobs: number;
  /** Wall time of each repeat of the grid, unpacked (--jobs) and packed (--pack, --jobs), and their medians. */
  unpackedRepeats: number[];
  packedRepeats: number[];
  unpackedSeconds: number;
  packedSeconds: number;
  unpackedRunsPerHour: number;
  packedRunsPerHour: number;
  /** Packed runs per hour over unpacked ones. */
  ratio: number;
  goal: number;
  met: boolean;
  /** Arithmetic of one run: LeNet-5's multiply-adds per image (forward), and the run's FLOPs (training 3x forward, validation and test forward). */
  macsPerImage: number;
  flopsPerRun: number;
  /** The packed grid's FLOPs over its wall time. */
  packedGflops: number;
  /** A dense matrix product's rate here (this machine's practical peak), and the packed grid's share of it. */
  matMulGflops: number;
  efficiency: number;
  /** Table 1's 300 runs (6 losses x 5 ratios x 10 seeds) at this efficiency of a GPU's peak. */
  gpu: { tflops: number; table1Seconds: number };
}

/**
 * The fastest of 20 products of two 512 x 512 matrices (TensorFlow's MatMul, every thread): what
 * this machine's cores reach on dense work. The fastest, as on a shared machine the others wait.
 */
function matMulGflops(): number {
  const n = 512;
  const a = tf.randomNormal([n, n]) as tf.Tensor2D;
  const b = tf.randomNormal([n, n]) as tf.Tensor2D;
  const once = () => tf.tidy(() => void matMul(a, b).dataSync());
  once();
  let fastest = Infinity;
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    once();
    fastest = Math.min(fastest, (performance.now() - started) / 1000);
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / fastest / 1e9;
}

/**
 * The Table-1 grid's throughput packed and not: ce and cdb x seeds, Table-1 runs (LeNet-5 on
 * Fashion-MNIST coat vs pullover, 5000 images, validation every epoch), the same --jobs on both
 * sides, alternating so a loaded machine weighs on both. Each grid builds its own images, as a
 * sweep does.
 */
export async function runPackBench(work: string, options: PackBenchOptions): Promise<PackBenchResult> {
  const log = options.log ?? (() => {});
  // This process counts the arithmetic and measures the matrix product on the engine the runs use.
  await selectBackend();
  const seeds = Array.from({ length: options.seeds }, (_, i) => i + 1);
  const runs = 2 * seeds.length;
  const grid = async (pack: number, repeat: number): Promise<{ seconds: number; trainImages: number; validationImages: number; testImages: number }> => {
    const label = pack > 1 ? `--pack ${pack} --jobs ${options.jobs}` : `--jobs ${options.jobs}`;
    log(`grid of ${runs} runs (ce, cdb x ${seeds.length} seeds, ${options.epochs} epochs) with ${label}, repeat ${repeat + 1} of ${options.repeats}...`);
    const out = path.join(work, `pack-grid-${pack}-${repeat}`);
    const started = Date.now();
    const summary = await runSweep({
      command: 'bench sweep',
      pipelineName: 'fashion-mnist',
      pipeline: fashionMnist,
      grid: { losses: ['ce', 'cdb'], taus: ['dynamic'], sets: [], seeds, epochs: options.epochs },
      out,
      dataRoot: path.join(work, 'unused'),
      source: { dataset: 'mnist-imbalanced', dir: options.source, classes: options.classes },
      jobs: options.jobs,
      pack,
      baseline: 'ce',
    });
    if (summary.failed.length > 0) throw new UserError(`the ${label} grid failed: ${summary.failed[0]!.message}`);
    const seconds = (Date.now() - started) / 1000;
    const result = JSON.parse(await fs.readFile(path.join(out, 'runs', `seed=1,loss=ce`, CELL_FILES.result), 'utf8')) as CellResult;
    const [first] = await new RunFolder(path.join(out, 'runs', 'seed=1,loss=ce')).readHistory();
    await fs.rm(out, { recursive: true, force: true });
    return {
      seconds,
      trainImages: result.trainingCounts.reduce((a, b) => a + b, 0),
      validationImages: first!.validation.samples,
      testImages: result.final.overall.samples,
    };
  };
  const unpacked: number[] = [];
  const packed: number[] = [];
  let sizes = { trainImages: 0, validationImages: 0, testImages: 0 };
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    unpacked.push((await grid(1, repeat)).seconds);
    const p = await grid(options.pack, repeat);
    packed.push(p.seconds);
    sizes = p;
  }
  const unpackedSeconds = median(unpacked);
  const packedSeconds = median(packed);
  const model = createPipelineModel(fashionMnist, 2);
  const context = countingContext();
  tf.tidy(() => model.forward(tf.zeros([1, ...model.inputShape]) as tf.Tensor5D, context));
  model.parameters.dispose();
  const macsPerImage = context.macs.count;
  // Training: forward and two products backward per layer (3x); validation after every epoch and
  // two test evaluations (final and best weights): forward only.
  const flopsPerRun = 2 * macsPerImage * (3 * options.epochs * sizes.trainImages + options.epochs * sizes.validationImages + 2 * sizes.testImages);
  const packedGflops = (runs * flopsPerRun) / packedSeconds / 1e9;
  const peak = matMulGflops();
  const efficiency = packedGflops / peak;
  const ratio = unpackedSeconds / packedSeconds;
  return {
    runs,
    epochs: options.epochs,
    pack: options.pack,
    jobs: options.jobs,
    unpackedRepeats: unpacked,
    packedRepeats: packed,
    unpackedSeconds,
    packedSeconds,
    unpackedRunsPerHour: (runs * 3600) / unpackedSeconds,
    packedRunsPerHour: (runs * 3600) / packedSeconds,
    ratio,
    goal: 3,
    met: ratio >= 3,
    macsPerImage,
    flopsPerRun,
    packedGflops,
    matMulGflops: peak,
    efficiency,
    gpu: { tflops: options.gpuTflops, table1Seconds: (300 * flopsPerRun) / (options.gpuTflops * 1e12 * efficiency) },
  };
}
