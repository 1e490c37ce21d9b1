import fs from 'node:fs/promises';
import path from 'node:path';
import { readSafetensors } from '../io/safetensors.js';
import { importTorchStateDict } from '../models/torch-weights.js';
import { createPipelineLoader, createPipelineModel, loadPipelineDataset } from '../train/from-pipeline.js';
import { upgradeLegacyPipeline } from '../config/legacy-pipeline.js';
import { validatePipeline } from '../train/pipeline.js';
import type { RunInfo } from '../train/trainer.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';
import { evaluateModel } from './evaluate.js';
import { summarize, type ClassificationMetrics, type SummaryMetrics } from './metrics.js';
import type { SavedClassResults } from './report-file.js';

export const GROUP_NAMES = ['majority', 'minority'] as const;
export type GroupName = (typeof GROUP_NAMES)[number];
export type EvaluationSplit = 'test' | 'validation';

/** A saved evaluation (<run>/eval-<split>.json); `perClass` is what `egtea weights --from` reads. */
export interface RunEvaluation extends SavedClassResults {
  run: string;
  split: EvaluationSplit;
  weights: string;
  seed: number;
  clips: number;
  overall: SummaryMetrics;
  groups: { name: GroupName; classes: string[]; metrics: SummaryMetrics }[];
  confusion: ClassificationMetrics['confusion'];
}

export async function readRunInfo(run: string): Promise<RunInfo> {
  const file = path.join(run, 'run.json');
  let info: RunInfo;
  try {
    info = JSON.parse(await fs.readFile(file, 'utf8')) as RunInfo;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing; is this a folder made by egtea train?' : (error as Error).message;
    throw new UserError(`${file}: ${reason}`);
  }
  if (!Array.isArray(info.classes) || !info.groups || typeof info.dataRoot !== 'string') throw new UserError(`${file}: not a run description (classes, groups, dataRoot)`);
  info.pipeline = validatePipeline(upgradeLegacyPipeline(info.pipeline) as RunInfo['pipeline'], file);
  return info;
}

/**
 * Evaluates a trained run on its test split (or validation split): top-1/top-5 and macro
 * recall/precision over every class and per class group, per-class results and the confusion
 * matrix. Written to <run>/eval-<split>.json.
 */
export async function evaluateRun(options: { run: string; split: EvaluationSplit; groups: readonly GroupName[]; weights?: string; dataRoot?: string; log?: (line: string) => void }): Promise<RunEvaluation> {
  const log = options.log ?? (() => {});
  const info = await readRunInfo(options.run);
  const p = info.pipeline;
  let weights = options.weights ?? path.join(options.run, 'model.safetensors');
  if (options.weights === undefined && !(await pathExists(weights))) {
    const checkpoint = path.join(options.run, 'checkpoint', 'weights.safetensors');
    if (!(await pathExists(checkpoint))) throw new UserError(`${options.run}: no model.safetensors and no checkpoint; has egtea train finished an epoch there?`);
    log(`training has not finished: evaluating the last checkpoint (${checkpoint})`);
    weights = checkpoint;
  }
  const dataRoot = options.dataRoot ?? info.dataRoot;
  const { annotations, dataset } = await loadPipelineDataset(p, dataRoot);
  if (JSON.stringify(dataset.classes) !== JSON.stringify(info.classes)) throw new UserError(`${dataRoot}: its classes differ from those the run was trained on`);
  const records = options.split === 'test' ? dataset.test : dataset.validation;
  if (records.length === 0) throw new UserError(`${annotations}: no ${options.split} clips with prepared frames`);
  const model = createPipelineModel(p, info.classes.length);
  try {
    importTorchStateDict(model.parameters, await readSafetensors(weights), weights);
    const loader = createPipelineLoader(p, records, 'evaluate');
    log(`evaluating ${options.run} on ${records.length} ${options.split} clips`);
    const metrics = await evaluateModel(model, loader, info.classes);
    const all = metrics.result();
    const evaluation: RunEvaluation = {
      run: options.run,
      split: options.split,
      weights,
      seed: p.seed,
      clips: records.length,
      overall: summarize(all),
      groups: options.groups.map((name) => ({ name, classes: info.groups[name].map((c) => info.classes[c]!), metrics: summarize(metrics.result(info.groups[name])) })),
      perClass: all.perClass,
      confusion: all.confusion,
    };
    await writeFileAtomic(path.join(options.run, `eval-${options.split}.json`), `${JSON.stringify(evaluation, null, 2)}\n`);
    return evaluation;
  } finally {
    model.parameters.dispose();
  }
}
