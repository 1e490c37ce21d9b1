import type { Command } from 'commander';
import { runEngineBench } from '../bench/engine-bench.js';
import { selectBackend } from '../engine/backend.js';
import { parsePositiveInt } from './options.js';
import { emit, table } from './output.js';

export function registerBenchCommand(program: Command): void {
  const bench = program.command('bench').description('benchmarks, each against its reference in the same run');
  const backend = () => program.opts<{ backend?: string }>().backend;

  bench
    .command('engine')
    .description('LeNet-5 training step and a 3D-ResNeXt bottleneck fwd+bwd, beside PyTorch CPU with the same threads (goal: ratio <= 1.5)')
    .option('--lenet-steps <n>', 'timed LeNet-5 steps', parsePositiveInt, 30)
    .option('--block-reps <n>', 'timed bottleneck repetitions', parsePositiveInt, 5)
    .option('--json', 'print one JSON document', false)
    .action(async (options: { lenetSteps: number; blockReps: number; json: boolean }) => {
      const engine = await selectBackend(backend());
      process.stderr.write('running the PyTorch reference, then egtea...\n');
      const result = runEngineBench(engine, options);
      emit(options.json, result, () =>
        [
          `engine: ${engine.backend} (TensorFlow ${engine.tensorflowVersion ?? '-'}), PyTorch ${result.torch}, ${result.threads} threads`,
          table(
            ['case', 'egtea ms', 'PyTorch ms', 'ratio', 'goal'],
            result.cases.map((c) => [c.case, c.egteaMs.toFixed(1), c.pytorchMs.toFixed(1), c.ratio.toFixed(2), `<= ${c.goal} ${c.met ? 'met' : 'NOT met'}`]),
          ),
          'grouped conv3d implementations (bottleneck fwd+bwd):',
          ...result.groupedConv3d.map((g) => `  ${g.impl.padEnd(16)} ${g.ms === null ? `n/a: ${g.note}` : `${g.ms.toFixed(1)} ms`}`),
        ].join('\n'),
      );
    });
}
