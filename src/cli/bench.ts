import type { Command } from 'commander';
import { runEngineBench } from '../bench/engine-bench.js';
import { MODEL_BENCH_MODES, runModelBench, type ModelBenchMode } from '../bench/model-bench.js';
import { runLoaderBench } from '../bench/loader-bench.js';
import { runPrepareBench } from '../bench/prepare-bench.js';
import { runSweepBench } from '../bench/sweep-bench.js';
import { runWorkersBench } from '../bench/workers-bench.js';
import { parseClassPair, type ClassPair } from '../data/images/class-pair.js';
import path from 'node:path';
import { selectedEngine } from './backend-hook.js';
import { coresOption, parseChoiceList, parsePositiveInt } from './options.js';
import { emit, table } from './output.js';

export function registerBenchCommand(program: Command): void {
  const bench = program.command('bench').description('benchmarks, each against its reference in the same run');

  bench
    .command('engine')
    .description('LeNet-5 training step and a 3D-ResNeXt bottleneck fwd+bwd, beside PyTorch CPU with the same threads (goal: ratio <= 1)')
    .option('--lenet-steps <n>', 'timed LeNet-5 steps per turn', parsePositiveInt, 20)
    .option('--block-reps <n>', 'timed bottleneck repetitions per turn', parsePositiveInt, 2)
    .option('--rounds <n>', 'rounds of turns, PyTorch then egtea; ratios are the median over rounds', parsePositiveInt, 10)
    .option('--no-graph-step', 'run both cases op by op instead of as one recorded TensorFlow graph (as train runs its steps by default)')
    .option('--json', 'print one JSON document', false)
    .action(async (options: { lenetSteps: number; blockReps: number; rounds: number; graphStep: boolean; json: boolean }) => {
      const engine = selectedEngine();
      process.stderr.write(`${options.rounds} rounds of turns, PyTorch then egtea...\n`);
      const result = await runEngineBench(engine, options);
      emit(options.json, result, () =>
        [
          `engine: ${engine.backend} (TensorFlow ${engine.tensorflowVersion ?? '-'}), PyTorch ${result.torch}, ${result.threads} threads`,
          table(
            ['case', 'egtea ms', 'PyTorch ms', `ratio (median of ${result.rounds.length})`, 'goal'],
            result.cases.map((c) => [c.case, c.egteaMs.toFixed(1), c.pytorchMs.toFixed(1), c.ratio.toFixed(2), `<= ${c.goal} ${c.met ? 'met' : 'NOT met'}`]),
          ),
          ...(['lenet', 'bottleneck'] as const).map((name) => {
            const s = result.steps[name];
            return `${name} step: ${s.mode === 'graph' ? `one TensorFlow graph (${s.nodes} nodes)` : s.mode === 'eager' ? `op by op (${s.reason})` : 'still recording'}`;
          }),
          'grouped conv3d implementations (bottleneck fwd+bwd, op by op):',
          ...result.groupedConv3d.map((g) => `  ${g.impl.padEnd(27)} ${g.ms === null ? `n/a: ${g.note}` : `${g.ms.toFixed(1)} ms`}`),
        ].join('\n'),
      );
    });

  bench
    .command('sweep')
    .description('a Table-1 run (LeNet-5, 5000 images, validation every epoch) beside the same protocol in PyTorch (goal: ratio <= 1), and a 4-run grid with --jobs 2 against --jobs 1 (goal: >= 1.7x)')
    .option('--source <dir>', "Fashion-MNIST's (or MNIST's) IDX files", '/usr/share/datasets/fashion-mnist')
    .option('--classes <minority,majority>', 'the pair', parseClassPair, { minority: 4, majority: 2 })
    .option('--epochs <n>', 'epochs of the Table-1 run (40 = 2000 iterations)', parsePositiveInt, 40)
    .option('--grid-epochs <n>', 'epochs of each run of the grid (40: Table-1 runs)', parsePositiveInt, 40)
    .option('--grid-repeats <n>', 'times the grid runs with --jobs 1 and then --jobs 2 (the speedup is the ratio of the medians)', parsePositiveInt, 3)
    .option('--json', 'print one JSON document', false)
    .action(async (options: { source: string; classes: ClassPair; epochs: number; gridEpochs: number; gridRepeats: number; json: boolean }) => {
      const r = await runSweepBench({ ...options, log: (line) => process.stderr.write(`${line}\n`) });
      const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
      emit(options.json, r, () =>
        [
          `Table-1 run: LeNet-5, ${r.run.epochs} epochs = ${r.run.iterations} iterations, validation every epoch; ${r.threads} threads; PyTorch ${r.torch}; load average ${r.load.map((l) => l.toFixed(1)).join(' ')}`,
          table(
            ['case', 'egtea s', 'PyTorch s', 'ratio', 'goal'],
            [
              ['Table-1 run (sum of epochs)', r.run.egteaSeconds.toFixed(1), r.run.pytorchSeconds.toFixed(1), r.run.ratio.toFixed(2), `<= ${r.run.goal} ${met(r.run.met)}`],
              [`grid of ${r.grid.runs} runs x ${r.grid.epochs} epochs (median)`, `jobs 1: ${r.grid.jobs1Seconds.toFixed(1)}`, `jobs 2: ${r.grid.jobs2Seconds.toFixed(1)}`, `${r.grid.speedup.toFixed(2)}x`, `>= ${r.grid.goal}x ${met(r.grid.met)}`],
            ],
          ),
          `grid repeats (s): --jobs 1 ${r.grid.jobs1Repeats.map((s) => s.toFixed(1)).join(', ')}; --jobs 2 ${r.grid.jobs2Repeats.map((s) => s.toFixed(1)).join(', ')}`,
          r.grid.ceiling === null
            ? 'CPU time of the runs: unknown (no /proc)'
            : `CPU time per run: --jobs 1 ${r.grid.jobs1CpuSecondsPerRun!.toFixed(1)} s (${r.grid.jobs1BusyCores!.toFixed(2)} of ${r.threads} cores busy), --jobs 2 ${r.grid.jobs2CpuSecondsPerRun!.toFixed(1)} s (${r.grid.jobs2BusyCores!.toFixed(2)} busy); with every core busy at that cost, --jobs 2 would gain ${r.grid.ceiling.toFixed(2)}x`,
          `egtea process wall time ${r.run.egteaWallSeconds.toFixed(1)} s (with start-up); final validation top-1: egtea ${((r.run.egteaValidationTop1 ?? 0) * 100).toFixed(1)}%, PyTorch ${(r.run.pytorchValidationTop1 * 100).toFixed(1)}%`,
        ].join('\n'),
      );
    });

  bench
    .command('model')
    .description('3D-ResNeXt-101 forward+backward, batch 1, 10x224x224, beside PyTorch CPU (goals: time ratio <= 1, peak memory ratio <= 1.5)')
    .option('--reps <n>', 'timed repetitions after one warm-up', parsePositiveInt, 2)
    .option('--frames <t>', 'frames per clip', parsePositiveInt, 10)
    .option('--size <s>', 'frame size', parsePositiveInt, 224)
    .option('--modes <list>', `how egtea runs the step, comma-separated: ${MODEL_BENCH_MODES.join(', ')} (graph: as train does by default; graph-replay: the recorded graph alone, in a process of its own)`, parseChoiceList(MODEL_BENCH_MODES), [...MODEL_BENCH_MODES])
    .option('--json', 'print one JSON document', false)
    .action((options: { reps: number; frames: number; size: number; modes: ModelBenchMode[]; json: boolean }) => {
      process.stderr.write('running the PyTorch reference, then egtea, each in its own process...\n');
      const r = runModelBench(options);
      const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
      emit(options.json, r, () =>
        [
          `3D-ResNeXt-101, 19 classes, [1, ${options.frames}, ${options.size}, ${options.size}, 3], forward + backward; ${r.threads} threads; PyTorch ${r.torch}`,
          table(
            ['egtea', 'time (ms)', 'PyTorch', 'ratio', `goal <= ${r.goals.time}`, 'peak RSS (MiB)', 'PyTorch', 'ratio', `goal <= ${r.goals.memory}`],
            r.egtea.map((e) => [
              e.mode,
              e.ms.toFixed(0),
              r.pytorch.ms.toFixed(0),
              e.timeRatio.toFixed(2),
              met(e.timeMet),
              e.peakRssMiB.toFixed(0),
              r.pytorch.peakRssMiB.toFixed(0),
              e.memoryRatio.toFixed(2),
              met(e.memoryMet),
            ]),
          ),
          ...r.egtea.map((e) => `${e.mode}: ${e.backend} backend, grouped conv3d ${e.implementations.groupedConv3d}, batch norm ${e.implementations.batchNorm}; step ${e.step.mode === 'graph' ? `one TensorFlow function (${e.step.nodes} nodes)` : e.step.mode === 'eager' ? `op by op (${e.step.reason})` : 'still recording'}`),
        ].join('\n'),
      );
    });

  bench
    .command('prepare')
    .description('frames/s of egtea prepare against the bare ffmpeg command, same settings and parallelism, same clips (goal: >= 0.9)')
    .option('--clips <n>', 'clips in the synthetic benchmark dataset', parsePositiveInt, 80)
    .addOption(coresOption('--jobs <n>', 'parallel decodes for both'))
    .option('--data <dir>', 'where the benchmark dataset is made and kept', path.join('data', 'bench'))
    .option('--json', 'print one JSON document', false)
    .action(async (options: { clips: number; jobs: number; data: string; json: boolean }) => {
      const r = await runPrepareBench({ root: options.data, clips: options.clips, jobs: options.jobs });
      emit(options.json, r, () =>
        [
          `${r.clips} clips, ${r.frames} frames, ${r.jobs} jobs`,
          table(['', 'frames/s'], [['egtea prepare', r.egteaFramesPerSecond.toFixed(0)], ['ffmpeg alone', r.ffmpegFramesPerSecond.toFixed(0)]]),
          `ratio ${r.ratio.toFixed(3)} (goal >= ${r.goal}: ${r.met ? 'met' : 'NOT met'})`,
        ].join('\n'),
      );
    });

  bench
    .command('workers')
    .description('data-parallel training on this machine: step time and all-reduce time of every parameter for 1 and 2 worker processes (docs/distributed.md)')
    .option('--arch <name>', 'the model', 'resnext3d-101')
    .option('--frames <n>', 'frames per clip', parsePositiveInt, 4)
    .option('--size <n>', 'frame side', parsePositiveInt, 64)
    .option('--batch <n>', 'clips per worker per step', parsePositiveInt, 1)
    .option('--steps <n>', 'timed steps (after 3 recordings)', parsePositiveInt, 5)
    .option('--reduces <n>', 'timed all-reduces of every parameter', parsePositiveInt, 5)
    .option('--json', 'print one JSON document', false)
    .action(async (options: { arch: string; frames: number; size: number; batch: number; steps: number; reduces: number; json: boolean }) => {
      const r = await runWorkersBench({ ...options, workers: [1, 2], log: (line) => process.stderr.write(`${line}\n`) });
      emit(options.json, r, () =>
        [
          `${r.arch}, ${(r.parameters / 1e6).toFixed(1)} M parameters (${((r.parameters * 4) / 1e6).toFixed(0)} MB of float32 gradients a step), clips of ${r.clip}, ${r.cores} cores`,
          table(
            ['workers', 'step ms', 'clips/s', 'all-reduce ms', 'all-reduce GB/s per worker'],
            r.rows.map((row) => [String(row.workers), row.stepMs.toFixed(0), row.clipsPerSecond.toFixed(2), row.allReduceMs?.toFixed(0) ?? '-', row.allReduceGBps?.toFixed(2) ?? '-']),
          ),
        ].join('\n'),
      );
    });

  bench
    .command('loader')
    .description('training clips/s (10 frames, 224, augmented, normalised) against a Python/PIL loader (goal: >= 2x PIL in one process)')
    .option('--clips <n>', 'clips in the synthetic benchmark dataset', parsePositiveInt, 80)
    .addOption(coresOption('--concurrency <n>', 'clips decoded at once by egtea', 2))
    .option('--data <dir>', 'where the benchmark dataset is made and kept', path.join('data', 'bench'))
    .option('--json', 'print one JSON document', false)
    .action(async (options: { clips: number; concurrency: number; data: string; json: boolean }) => {
      const r = await runLoaderBench({ root: options.data, clips: options.clips, concurrency: options.concurrency });
      emit(options.json, r, () =>
        [
          `${r.clips} clips, ${r.cores} cores`,
          table(
            ['', 'clips/s', 'egtea / it'],
            [
              ['egtea (one process)', r.egteaClipsPerSecond.toFixed(1), ''],
              ['PIL, one process', r.pilSingleProcessClipsPerSecond.toFixed(1), r.ratioToSingleProcess.toFixed(2)],
              [`PIL, ${r.cores} processes`, r.pilAllCoresClipsPerSecond.toFixed(1), r.ratioToAllCores.toFixed(2)],
            ],
          ),
          `goal: >= ${r.goal}x PIL in one process: ${r.met ? 'met' : 'NOT met'}`,
        ].join('\n'),
      );
    });
}
