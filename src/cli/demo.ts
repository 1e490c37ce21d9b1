import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import synth from '../../pipelines/synth.js';
import { applyOverrides } from '../config/overrides.js';
import { compareRuns } from '../eval/compare-runs.js';
import { evaluateRun } from '../eval/evaluate-run.js';
import type { LossName } from '../losses/registry.js';
import { comparisonTable } from '../report/comparison-table.js';
import { train } from '../train/trainer.js';
import { UserError } from '../util/errors.js';
import { DEFAULT_FRAME_OPTIONS } from '../video/extract-frames.js';
import { prepareFrames } from '../video/prepare.js';
import { SYNTH_DEFAULTS, synthesize } from '../video/synth/synthesize.js';
import { parsePositiveInt, parseSeed } from './options.js';
import { emit, log } from './output.js';

interface DemoOptions {
  data: string;
  clips: number;
  seed: number;
  runs: string;
  epochs?: number;
  json: boolean;
}

/** The demo's story: CDB-CE against plain cross-entropy, on the same clips, from the same seed. */
const DEMO_LOSSES: readonly LossName[] = ['cdb', 'ce'];

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole job on built-in data: synth, prepare, train (pipeline synth) with CDB-CE and with plain CE on the same clips, evaluate both on the test split, one table by class group',
    )
    .option('--data <dir>', 'data root: synth writes <data>/synth, prepare <data>/frames', 'data')
    .option('--clips <n>', 'clips to synthesise', parsePositiveInt, SYNTH_DEFAULTS.clips)
    .option('--seed <n>', 'seed of the data (synth) and of both trainings (a whole number >= 0); give each seed its own --data', parseSeed, SYNTH_DEFAULTS.seed)
    .option('--runs <dir>', 'folder of the two runs: <runs>/demo-cdb and <runs>/demo-ce', 'runs')
    .option('--epochs <n>', "override the synth pipeline's epochs", parsePositiveInt)
    .option('--json', 'print one JSON document (the comparison, as egtea compare --json)', false)
    .action(async (options: DemoOptions) => {
      const jobs = os.availableParallelism();
      const steps = 3 + DEMO_LOSSES.length;
      // Each step skips what an earlier run of the demo finished.
      log(`demo 1/${steps}: synthesising ${options.clips} clips (seed ${options.seed}) into ${path.join(options.data, 'synth')}`);
      const made = await synthesize({ ...SYNTH_DEFAULTS, clips: options.clips, seed: options.seed, out: path.join(options.data, 'synth'), jobs });
      log(`demo 2/${steps}: extracting frames into ${path.join(options.data, 'frames')}`);
      // Frames at the clips' own size: the model reads 64 x 64 crops, so larger ones would only cost decoding.
      const frames = { ...DEFAULT_FRAME_OPTIONS, shortSide: Math.min(SYNTH_DEFAULTS.width, SYNTH_DEFAULTS.height) };
      const prepared = await prepareFrames({ videos: made.videos, annotations: made.annotations, out: path.join(options.data, 'frames'), frames, jobs });
      if (prepared.failed.length > 0) throw new UserError(`${prepared.failed.length} clip(s) failed to prepare; see ${prepared.manifest}`);
      const runs: string[] = [];
      for (const [i, loss] of DEMO_LOSSES.entries()) {
        const pipeline = applyOverrides(synth, { loss, epochs: options.epochs, seed: options.seed }, 'demo options');
        const out = path.join(options.runs, `demo-${loss}`);
        log(`demo ${3 + i}/${steps}: training ${pipeline.model.arch} with ${loss} for ${pipeline.schedule.epochs} epochs into ${out}`);
        await train({ pipeline, dataRoot: options.data, out, log });
        runs.push(out);
      }
      log(`demo ${steps}/${steps}: evaluating ${runs.join(' and ')} on the test split`);
      for (const run of runs) await evaluateRun({ run, split: 'test', groups: ['majority', 'minority'], log });
      const compared = await compareRuns(runs, 'test');
      emit(options.json, { split: 'test', runs: compared }, () =>
        [
          `egtea demo: ${synth.model.arch} trained with ${DEMO_LOSSES.join(' and ')} on the same ${options.clips} clips, seed ${options.seed}; test split (%):`,
          comparisonTable(compared),
          `every epoch's validation by class group: history.jsonl in each run folder (egtea report ${runs.join(' ')} draws them)`,
        ].join('\n'),
      );
    });
}
