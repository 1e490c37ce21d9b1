import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { environmentProblems } from '../util/environment.js';
import { ARCHITECTURES, type Architecture } from '../models/presets.js';
import { UserError } from '../util/errors.js';
import { selectedEngine } from './backend-hook.js';
import { formatEngineCheck, runEngineCheck } from './engine-check.js';
import { parsePositiveInt } from './options.js';
import { emit } from './output.js';

export function registerEngineCommand(program: Command): void {
  const engine = program
    .command('engine')
    .description('show the active TensorFlow engine: backend, TensorFlow version, device, threads')
    .option('--json', 'print one JSON document', false)
    .action(async (options: { json: boolean }) => {
      const info = selectedEngine();
      emit(options.json, info, () =>
        [
          `backend            ${info.backend} (requested: ${info.requested})`,
          `device             ${info.device}${info.gpuBuildOnCpu ? ' (the GPU build on its CPU device: EGTEA_GPU_BUILD_ON_CPU=1)' : ''}`,
          `TensorFlow         ${info.tensorflowVersion ?? 'not loaded'}${info.wheel ? ` (from ${info.wheel})` : ''}`,
          `TensorFlow.js      ${info.tfjsVersion}`,
          `grouped conv3d     ${info.implementations.groupedConv3d}`,
          `batch norm         ${info.implementations.batchNorm}`,
          `3D max pooling     ${info.implementations.maxPool3d}`,
          `clip decode        ${info.implementations.clipDecode}`,
          `graph steps        ${info.graphSteps ? 'yes (train runs each recorded step as one TensorFlow function)' : info.backend !== 'tensorflow' ? 'no (pure-JS backend)' : "no: the binding lacks egtea's patch (egtea engine install --force)"}`,
          `threads            ${info.threads.cores} cores; intra-op ${info.threads.intraOp}, inter-op ${info.threads.interOp}`,
        ].join('\n'),
      );
    });

  engine
    .command('check')
    .description(
      "self-check for a new machine: each op with several implementations against TensorFlow's, then a 3D-ResNeXt-101 training step as a TensorFlow function against the eager step; clips/s and peak memory; exit 1 on any disagreement",
    )
    .option('--json', 'print one JSON document', false)
    .option('--arch <name>', 'model of the step check', 'resnext3d-101')
    .option('--batch <n>', 'clips per step', parsePositiveInt, 2)
    .option('--frames <t>', 'frames per clip', parsePositiveInt, 10)
    .option('--size <s>', 'frame size', parsePositiveInt, 224)
    .option('--reps <n>', 'timed function steps', parsePositiveInt, 2)
    .action(async (options: { json: boolean; arch: string; batch: number; frames: number; size: number; reps: number }) => {
      const info = selectedEngine();
      if (!ARCHITECTURES.includes(options.arch as Architecture) || !options.arch.startsWith('resnext3d')) {
        throw new UserError(`--arch ${options.arch}: the step check takes a 3D-ResNeXt (${ARCHITECTURES.filter((a) => a.startsWith('resnext3d')).join(', ')})`);
      }
      const report = runEngineCheck(info, options);
      // `engine --json` is the parent's option too, and commander gives it to the parent.
      emit(options.json || engine.opts<{ json: boolean }>().json, report, () => formatEngineCheck(report));
      if (!report.ok) process.exitCode = 1;
    });

  engine
    .command('install')
    .description('build the native engine: libtensorflow from the TensorFlow wheel (pip) and the tfjs binding (node-gyp); cached')
    .option('--force', 'rebuild even when a working engine is installed', false)
    .option('--gpu', 'the CUDA build of TensorFlow and its NVIDIA libraries (from PyPI, into the cache; found without LD_LIBRARY_PATH)', false)
    .option('--dry-run', 'print the wheels an install would fetch (resolved from their metadata) and download nothing', false)
    .option(
      '--engine-dir <dir>',
      'build the engine in a copy of the tfjs-node-gpu package at <dir> (inside the project) and leave the installed one as it is; use it with EGTEA_NATIVE_PACKAGE=<dir>',
    )
    .action((options: { force: boolean; gpu: boolean; dryRun: boolean; engineDir?: string }) => {
      // The install's own variables are checked here (every command checks the others).
      const problems = environmentProblems({ install: true });
      if (problems.length > 0) throw new UserError(problems.join('\n'));
      const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'install-engine.mjs');
      const flags = [
        ...(options.force ? ['--force'] : []),
        ...(options.gpu ? ['--gpu'] : []),
        ...(options.dryRun ? ['--dry-run'] : []),
        ...(options.engineDir ? ['--engine-dir', path.resolve(options.engineDir)] : []),
      ];
      const result = spawnSync(process.execPath, [script, '--required', ...flags], { stdio: 'inherit' });
      if (result.status !== 0) throw new UserError('the native engine was not installed; see the messages above');
    });
}
