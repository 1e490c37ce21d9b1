import type { Command } from 'commander';
import { applyOverrides, pipelineKeys } from '../config/overrides.js';
import { resolvePipeline } from './resolve-pipeline.js';
import { emit } from './output.js';
import { addPipelineOptions, overridesFrom, type PipelineCommandOptions } from './pipeline-options.js';

interface PipelineOptions extends PipelineCommandOptions {
  keys: boolean;
  json: boolean;
}

export function registerPipelineCommand(program: Command): void {
  const command = program
    .command('pipeline')
    .description(
      'print a pipeline as train would run it, after the options below, as JSON (save it and pass it back with --pipeline FILE.json); --keys lists what --set takes',
    );
  addPipelineOptions(command)
    .option('--keys', 'list every key --set takes and what it must be', false)
    .option('--json', 'with --keys: one JSON document', false)
    .action(async (options: PipelineOptions) => {
      if (options.keys) {
        const keys = pipelineKeys();
        emit(options.json, keys, () => keys.map((k) => `${k.key.padEnd(32)} ${k.expects}${k.losses ? ` (loss ${k.losses.join(', ')})` : ''}`).join('\n'));
        return;
      }
      const pipeline = applyOverrides(await resolvePipeline(options.pipeline), overridesFrom(options));
      emit(true, pipeline, () => '');
    });
}
