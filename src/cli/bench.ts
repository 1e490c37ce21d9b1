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
    .description(
      'a Table-1 run (egtea sweep of one cell: LeNet-5, 5000 images, validation every epoch) beside the same protocol in PyTorch with the images in memory (goal: ratio <= 1) and decoded from JPEGs every epoch, a 4-run grid with --jobs 2 against --jobs 1 (goal: >= 1.7x), and the Table-1 grid with --pack against the same grid unpacked (goal: >= 3x the runs per hour)',
    )
    .option('--source <dir>', "Fashion-MNIST's (or MNIST's) IDX files", '/usr/share/datasets/fashion-mnist')
    .option('--classes <minority,majority>', 'the pair', parseClassPair, { minority: 4, majority: 2 })
    .option('--epochs <n>', 'epochs of the Table-1 run (40 = 2000 iterations)', parsePositiveInt, 40)
    .option(
      '--repeats <n>',
      'turns of the Table-1 run on each side (PyTorch in memory, egtea, PyTorch from JPEGs); the ratios are of medians',
      parsePositiveInt,
      1,
    )
    .option('--grid-epochs <n>', 'epochs of each run of the grid (40: Table-1 runs)', parsePositiveInt, 40)
    .option(
      '--grid-repeats <n>',
      'times the grid runs with --jobs 1 and then --jobs 2 (the speedup is the ratio of the medians); 0: no grid',
      (v: string) => (v === '0' ? 0 : parsePositiveInt(v)),
      3,
    )
    .option(
      '--pack <k>',
      'also the Table-1 grid (ce, cdb x --pack-seeds, --grid-epochs) with --pack k against the same grid unpacked, both with --pack-jobs (goal: >= 3x the runs per hour); 1: leave it out',
      parsePositiveInt,
      4,
    )
    .option('--pack-seeds <n>', 'seeds of the packed comparison (2 runs each)', parsePositiveInt, 4)
    .option('--pack-jobs <k>', 'processes side by side in the packed comparison, on both sides', parsePositiveInt, 2)
    .option('--pack-repeats <n>', 'times each side of the packed comparison runs (alternating; medians)', parsePositiveInt, 1)
    .option('--gpu-tflops <x>', "a GPU's FP32 peak for the estimate of Table 1 packed on one GPU (19.5: an A100)", Number, 19.5)
    .option('--only-pack', 'only the packed comparison', false)
    .option('--json', 'print one JSON document', false)
    .action(
      async (options: {
        source: string;
        classes: ClassPair;
        epochs: number;
        repeats: number;
        gridEpochs: number;
        gridRepeats: number;
        pack: number;
        packSeeds: number;
        packJobs: number;
        packRepeats: number;
        gpuTflops: number;
        onlyPack: boolean;
        json: boolean;
      }) => {
        const pack = { pack: options.pack, seeds: options.packSeeds, jobs: options.packJobs, repeats: options.packRepeats, gpuTflops: options.gpuTflops };
        const r = await runSweepBench({ ...options, pack, log: (line) => process.stderr.write(`${line}\n`) });
        const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
        const p = r.pack;
        const packLines = p
          ? [
              `Table-1 grid packed: ${p.runs} runs (ce, cdb) x ${p.epochs} epochs, --jobs ${p.jobs} on both sides; load average ${r.load.map((l) => l.toFixed(1)).join(' ')}`,
              table(
                ['case', 'wall s (median)', 'runs/hour', 'ratio', 'goal'],
                [
                  [`--jobs ${p.jobs}`, p.unpackedSeconds.toFixed(1), p.unpackedRunsPerHour.toFixed(0), '1.00', ''],
                  [
                    `--pack ${p.pack} --jobs ${p.jobs}`,
                    p.packedSeconds.toFixed(1),
                    p.packedRunsPerHour.toFixed(0),
                    `${p.ratio.toFixed(2)}x`,
                    `>= ${p.goal}x ${met(p.met)}`,
                  ],
                ],
              ),
              `repeats (s): --jobs ${p.jobs} ${p.unpackedRepeats.map((s) => s.toFixed(1)).join(', ')}; --pack ${p.pack} ${p.packedRepeats.map((s) => s.toFixed(1)).join(', ')}`,
              `arithmetic: LeNet-5 ${(p.macsPerImage / 1e3).toFixed(0)}k multiply-adds per image forward; ${(p.flopsPerRun / 1e12).toFixed(2)} TFLOP per run; the packed grid ran at ${p.packedGflops.toFixed(1)} GFLOP/s, ${(100 * p.efficiency).toFixed(1)}% of a 512^2 matrix product's ${p.matMulGflops.toFixed(1)} GFLOP/s here (its fastest of 20)`,
              `estimate: Table 1 (300 runs) packed on one GPU of ${p.gpu.tflops} TFLOP/s at that same share of its peak: ${(p.gpu.table1Seconds / 60).toFixed(1)} min`,
            ]
          : [];
        const { run } = r;
        if (run === null) {
          emit(options.json, r, () => packLines.join('\n'));
          return;
        }
        const error = (t: { testError: { final: number; best: number } | null }) =>
          t.testError ? `${t.testError.final.toFixed(1)} / ${t.testError.best.toFixed(1)}` : '-';
        const side = (name: string, t: typeof run.egtea, ratio = '', loopRatio = '', goal = '') => [
          name,
          t.seconds.toFixed(1),
          t.loopSeconds.toFixed(1),
          t.cpuSeconds === null ? '-' : t.cpuSeconds.toFixed(1),
          ratio,
          loopRatio,
          goal,
          error(t),
        ];
        const grid = r.grid;
        emit(options.json, r, () =>
          [
            `Table-1 run: LeNet-5, ${run.epochs} epochs = ${run.iterations} iterations, validation every epoch, final and best model on the test split; ${r.threads} threads; PyTorch ${r.torch}; ${run.egtea.repeats.length} turn(s) each, medians; load average ${r.load.map((l) => l.toFixed(1)).join(' ')}`,
            table(
              ['side', 'whole s', 'epochs s', 'CPU s', 'egtea / it', 'epochs ratio', 'goal', 'test error % final / best'],
              [
                side('egtea sweep, one cell (start to summary)', run.egtea),
                side(
                  'PyTorch, images in memory (main reference)',
                  run.pytorchMemory,
                  run.ratios.memory.toFixed(2),
                  run.ratios.memoryLoop.toFixed(2),
                  `<= ${run.goal} ${met(run.met)}`,
                ),
                side('PyTorch, JPEGs decoded every epoch', run.pytorchJpeg, run.ratios.jpeg.toFixed(2), run.ratios.jpegLoop.toFixed(2), ''),
              ],
            ),
            `arithmetic: ${(run.flops.total / 1e12).toFixed(2)} TFLOP (training as 3 forward passes); egtea ${run.flops.egteaGflops.toFixed(1)} GFLOP/s over its whole time, PyTorch (in memory) ${run.flops.pytorchMemoryGflops.toFixed(1)} GFLOP/s; this machine's peak through the engine ${run.flops.peakGflops.toFixed(1)} GFLOP/s (${run.flops.peakMatmul}x${run.flops.peakMatmul} float32 matmul)`,
            ...(grid === null
              ? []
              : [
                  table(
                    ['case', 'jobs 1 s', 'jobs 2 s', 'speedup', 'goal'],
                    [
                      [
                        `grid of ${grid.runs} runs x ${grid.epochs} epochs (median)`,
                        grid.jobs1Seconds.toFixed(1),
                        grid.jobs2Seconds.toFixed(1),
                        `${grid.speedup.toFixed(2)}x`,
                        `>= ${grid.goal}x ${met(grid.met)}`,
                      ],
                    ],
                  ),
                  `grid repeats (s): --jobs 1 ${grid.jobs1Repeats.map((s) => s.toFixed(1)).join(', ')}; --jobs 2 ${grid.jobs2Repeats.map((s) => s.toFixed(1)).join(', ')}`,
                  grid.ceiling === null
                    ? 'CPU time of the runs: unknown (no /proc)'
                    : `CPU time per run: --jobs 1 ${grid.jobs1CpuSecondsPerRun!.toFixed(1)} s (${grid.jobs1BusyCores!.toFixed(2)} of ${r.threads} cores busy), --jobs 2 ${grid.jobs2CpuSecondsPerRun!.toFixed(1)} s (${grid.jobs2BusyCores!.toFixed(2)} busy); with every core busy at that cost, --jobs 2 would gain ${grid.ceiling.toFixed(2)}x`,
                ]),
            ...packLines,
          ].join('\n'),
        );
      },
    );

  bench
    .command('model')
    .description('3D-ResNeXt-101 forward+backward, batch 1, 10x224x224, beside PyTorch CPU (goals: time ratio <= 1, peak memory ratio <= 1.5)')
    .option('--reps <n>', 'timed repetitions after one warm-up', parsePositiveInt, 2)
    .option('--frames <t>', 'frames per clip', parsePositiveInt, 10)
    .option('--size <s>', 'frame size', parsePositiveInt, 224)
    .option(
      '--modes <list>',
      `how egtea runs the step, comma-separated: ${MODEL_BENCH_MODES.join(', ')} (graph: as train does by default; graph-replay: the recorded graph alone, in a process of its own)`,
      parseChoiceList(MODEL_BENCH_MODES),
      [...MODEL_BENCH_MODES],
    )
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
          ...r.egtea.map(
            (e) =>
              `${e.mode}: ${e.backend} backend, grouped conv3d ${e.implementations.groupedConv3d}, batch norm ${e.implementations.batchNorm}; step ${e.step.mode === 'graph' ? `one TensorFlow function (${e.step.nodes} nodes)` : e.step.mode === 'eager' ? `op by op (${e.step.reason})` : 'still recording'}`,
          ),
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
          table(
            ['', 'frames/s'],
            [
              ['egtea prepare', r.egteaFramesPerSecond.toFixed(0)],
              ['ffmpeg alone', r.ffmpegFramesPerSecond.toFixed(0)],
            ],
          ),
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
            r.rows.map((row) => [
              String(row.workers),
              row.stepMs.toFixed(0),
              row.clipsPerSecond.toFixed(2),
              row.allReduceMs?.toFixed(0) ?? '-',
              row.allReduceGBps?.toFixed(2) ?? '-',
            ]),
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
