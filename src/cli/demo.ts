import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import synth from '../../pipelines/synth.js';
import { applyOverrides } from '../config/overrides.js';
import { evaluateRun } from '../eval/evaluate-run.js';
import { LOSS_NAMES, type LossName } from '../losses/create-loss.js';
import { train } from '../train/trainer.js';
import { groupedMetricsTable } from '../metrics/metrics-table.js';
import { RunFolder } from '../run/run-folder.js';
import { UserError } from '../util/errors.js';
import { DEFAULT_FRAME_OPTIONS } from '../video/extract-frames.js';
import { prepareFrames } from '../video/prepare.js';
import { SYNTH_DEFAULTS, synthesize } from '../video/synth/synthesize.js';
import { parseChoice, parsePositiveInt } from './options.js';
import { emit, log } from './output.js';

interface DemoOptions {
  data: string;
  clips: number;
  out?: string;
  loss: LossName;
  epochs?: number;
  json: boolean;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('the whole job on built-in data: synth, prepare, train (pipeline synth), then evaluate on the test split by class group')
    .option('--data <dir>', 'data root: synth writes <data>/synth, prepare <data>/frames', 'data')
    .option('--clips <n>', 'clips to synthesise', parsePositiveInt, SYNTH_DEFAULTS.clips)
    .option('--out <dir>', 'run folder (default: runs/demo-<loss>)')
    .option('--loss <name>', `loss: ${LOSS_NAMES.join(', ')}`, parseChoice(LOSS_NAMES), 'cdb')
    .option('--epochs <n>', "override the synth pipeline's epochs", parsePositiveInt)
    .option('--json', 'print one JSON document (the test evaluation)', false)
    .action(async (options: DemoOptions) => {
      const jobs = os.availableParallelism();
      // Each step skips what an earlier run of the demo finished.
      log(`demo 1/4: synthesising ${options.clips} clips into ${path.join(options.data, 'synth')}`);
      const made = await synthesize({ ...SYNTH_DEFAULTS, clips: options.clips, out: path.join(options.data, 'synth'), jobs });
      log(`demo 2/4: extracting frames into ${path.join(options.data, 'frames')}`);
      const prepared = await prepareFrames({ videos: made.videos, annotations: made.annotations, out: path.join(options.data, 'frames'), frames: DEFAULT_FRAME_OPTIONS, jobs });
      if (prepared.failed.length > 0) throw new UserError(`${prepared.failed.length} clip(s) failed to prepare; see ${prepared.manifest}`);
      const pipeline = applyOverrides(synth, { loss: options.loss, epochs: options.epochs }, 'demo options');
      const out = options.out ?? path.join('runs', `demo-${options.loss}`);
      log(`demo 3/4: training ${pipeline.model.arch} with ${options.loss} for ${pipeline.schedule.epochs} epochs into ${out}`);
      await train({ pipeline, dataRoot: options.data, out, log });
      log('demo 4/4: evaluating on the test split');
      const evaluation = await evaluateRun({ run: out, split: 'test', groups: ['majority', 'minority'], log });
      emit(options.json, evaluation, () =>
        [
          `egtea demo: ${pipeline.model.arch}, loss ${options.loss}, seed ${pipeline.seed}; test split, ${evaluation.clips} clips (%):`,
          groupedMetricsTable(evaluation),
          `run folder: ${out} (${new RunFolder(out).historyFile} has every epoch's validation by class group)`,
        ].join('\n'),
      );
    });
}
