import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { selectBackend } from '../engine/backend.js';
import { UserError } from '../util/errors.js';
import { emit } from './output.js';

export function registerEngineCommand(program: Command): void {
  const engine = program
    .command('engine')
    .description('show the active TensorFlow engine: backend, TensorFlow version, device, threads')
    .option('--json', 'print one JSON document', false)
    .action(async (options: { json: boolean }) => {
      const info = await selectBackend(program.opts<{ backend?: string }>().backend);
      emit(options.json, info, () =>
        [
          `backend            ${info.backend} (requested: ${info.requested})`,
          `device             ${info.device}`,
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
    .command('install')
    .description('build the native engine: libtensorflow from the TensorFlow wheel (pip) and the tfjs binding (node-gyp); cached')
    .option('--force', 'rebuild even when a working engine is installed', false)
    .action((options: { force: boolean }) => {
      const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'install-engine.mjs');
      const result = spawnSync(process.execPath, [script, '--required', ...(options.force ? ['--force'] : [])], { stdio: 'inherit' });
      if (result.status !== 0) throw new UserError('the native engine was not installed; see the messages above');
    });
}
