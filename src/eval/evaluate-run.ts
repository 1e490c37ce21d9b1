import path from 'node:path';
import { readSafetensors, type StoredTensor } from '../io/safetensors.js';
import { importTorchStateDict } from '../models/torch-weights.js';
import { fileDigest, RunFolder, type EvaluationSplit, type RunInfo } from '../run/run-folder.js';
import { createPipelineLoader, createPipelineModel, loadPipelineDataset } from '../train/from-pipeline.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';
import { evaluateModel, type EvaluationProgress } from '../metrics/evaluate.js';
import { groupedMetrics, type GroupedMetrics, type GroupName } from '../metrics/grouped-metrics.js';
import type { ClassificationMetrics } from '../metrics/metrics.js';
import type { SavedClassResults } from './report-file.js';

export { GROUP_NAMES, type GroupName } from '../metrics/grouped-metrics.js';
export type { EvaluationSplit } from '../run/run-folder.js';

/** A saved evaluation (eval-<split>.json in the run folder); `perClass` is what `egtea weights --from` reads. */
export interface RunEvaluation extends Omit<GroupedMetrics, 'groups'>, SavedClassResults {
  run: string;
  split: EvaluationSplit;
  /** The weights measured, and their SHA-256: `compare` checks them against the run's weights. */
  weights: string;
  weightsDigest: string;
  /** Whether those are the run's own weights (model.safetensors, or its checkpoint's). */
  ownWeights: boolean;
  seed: number;
  clips: number;
  groups: Partial<GroupedMetrics['groups']>;
  confusion: ClassificationMetrics['confusion'];
  /** Where it was saved. */
  file: string;
}

export async function readRunInfo(run: string): Promise<RunInfo> {
  return new RunFolder(run).readRunInfo();
}

/** Refuses weights holding NaN or Inf (a diverged run), naming the file and the first such tensor. */
function checkFiniteWeights(tensors: Map<string, StoredTensor>, file: string): void {
  const bad: string[] = [];
  for (const [name, tensor] of tensors) {
    const data = tensor.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(Number(data[i]))) {
        bad.push(name);
        break;
      }
    }
  }
  if (bad.length > 0) {
    throw new UserError(`${file}: '${bad[0]}'${bad.length > 1 ? ` and ${bad.length - 1} more tensors` : ''} hold NaN or Inf: these weights come from a diverged run and cannot be evaluated`);
  }
}

/** The weights to evaluate: --weights, else the run's model, else its last checkpoint. */
async function chooseWeights(folder: RunFolder, requested: string | undefined, log: (line: string) => void): Promise<{ file: string; own: boolean }> {
  if (requested !== undefined) {
    if (!(await pathExists(requested))) throw new UserError(`${requested}: no such weights file (--weights)`);
    return { file: requested, own: folder.ownsWeights(requested) };
  }
  const weights = await folder.weights();
  if (weights === null) throw new UserError(`${folder.dir}: no model.safetensors and no checkpoint; has egtea train finished an epoch there?`);
  if (!weights.final) log(`training has not finished: evaluating the last checkpoint (${weights.file})`);
  return { file: weights.file, own: true };
}

/**
 * Evaluates a trained run on its test split (or validation split): top-1/top-5 and macro
 * recall/precision over every class and per class group, per-class results and the confusion
 * matrix. Saved as the run's eval-<split>.json when it measured the run's own weights; weights
 * from elsewhere (--weights) get a file of their own, named by their digest, so they never
 * pass for the run's.
 */
export async function evaluateRun(options: { run: string; split: EvaluationSplit; groups: readonly GroupName[]; weights?: string; dataRoot?: string; log?: (line: string) => void; onBatch?: EvaluationProgress }): Promise<RunEvaluation> {
  const log = options.log ?? (() => {});
  if (options.groups.length === 0) throw new UserError('--groups: no class group given; choose from majority, minority');
  const folder = new RunFolder(options.run);
  const info = await folder.readRunInfo();
  const p = info.pipeline;
  const weights = await chooseWeights(folder, options.weights, log);
  const dataRoot = options.dataRoot ?? info.dataRoot;
  const { annotations, dataset } = await loadPipelineDataset(p, dataRoot);
  if (JSON.stringify(dataset.classes) !== JSON.stringify(info.classes)) throw new UserError(`${dataRoot}: its classes differ from those the run was trained on`);
  const records = options.split === 'test' ? dataset.test : dataset.validation;
  if (records.length === 0) throw new UserError(`${annotations}: no ${options.split} clips with prepared frames`);
  const tensors = await readSafetensors(weights.file);
  checkFiniteWeights(tensors, weights.file);
  const digest = await fileDigest(weights.file);
  const file = folder.evaluationFile(options.split, weights.own ? undefined : digest);
  const model = createPipelineModel(p, info.classes.length);
  try {
    importTorchStateDict(model.parameters, tensors, weights.file);
    const loader = createPipelineLoader(p, records, 'evaluate');
    log(`evaluating ${options.run} on ${records.length} ${options.split} clips`);
    const metrics = await evaluateModel(model, loader, info.classes, options.onBatch);
    const grouped = groupedMetrics(metrics, info.groups, options.groups);
    const evaluation: RunEvaluation = {
      run: options.run,
      split: options.split,
      weights: path.resolve(weights.file),
      weightsDigest: digest,
      ownWeights: weights.own,
      seed: p.seed,
      clips: records.length,
      ...grouped,
      confusion: metrics.result().confusion,
      file,
    };
    if (!weights.own) log(`${weights.file} is not this run's model: the evaluation is saved as ${file}, not as the run's own`);
    await writeFileAtomic(file, `${JSON.stringify(evaluation, null, 2)}\n`);
    return evaluation;
  } finally {
    model.parameters.dispose();
  }
}
