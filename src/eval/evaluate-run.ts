import path from 'node:path';
import { GraphStep } from '../engine/graph/graph-step.js';
import { checkFiniteTensors, readSafetensors } from '../io/safetensors.js';
import { importTorchStateDict } from '../models/torch-weights.js';
import { fileDigest, RunFolder, type EvaluationSplit, type RunEvaluation, type RunInfo } from '../run/run-folder.js';
import { createPipelineLoader, createPipelineModel, loadPipelineDataset } from '../train/from-pipeline.js';
import { UserError } from '../util/errors.js';
import { pathExists, writeFileAtomic } from '../util/files.js';
import { evaluateModel, type EvaluationProgress } from '../metrics/evaluate.js';
import { groupDefinitions, SHOT_THRESHOLDS, type ShotThresholds } from '../data/class-groups.js';
import { logitAdjustment } from '../losses/logit-adjustment.js';
import { groupedMetrics, type GroupName } from '../metrics/grouped-metrics.js';
import { residentBytes, ResidentClips, residentUnfit } from '../data/resident-clips.js';

export { GROUP_NAMES, type GroupName } from '../metrics/grouped-metrics.js';
import { GROUP_NAMES } from '../metrics/grouped-metrics.js';
export type { EvaluationSplit, RunEvaluation } from '../run/run-folder.js';

export async function readRunInfo(run: string): Promise<RunInfo> {
  return new RunFolder(run).readRunInfo();
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

export interface EvaluateRunOptions {
  run: string;
  split: EvaluationSplit;
  groups: readonly GroupName[];
  /** Many-shot: > many training samples, few-shot: < few (default 100, 20). */
  thresholds?: ShotThresholds;
  /** Post-hoc logit adjustment: subtract t log prior from the logits (saved as eval-<split>.posthoc-la<t>.json). */
  posthocTau?: number;
  weights?: string;
  dataRoot?: string;
  log?: (line: string) => void;
  onBatch?: EvaluationProgress;
}

/** One model of a run to evaluate: its weights (default: the run's own) and any post-hoc adjustment. */
export type RunModel = Pick<EvaluateRunOptions, 'weights' | 'posthocTau'>;

/**
 * Evaluates a trained run on its test split (or validation split): top-1/top-5 and macro
 * recall/precision over every class and per class group, per-class results and the confusion
 * matrix. Saved as the run's eval-<split>.json when it measured the run's own weights; weights
 * from elsewhere (--weights) get a file of their own, named by their digest, so they never
 * pass for the run's.
 */
export async function evaluateRun(options: EvaluateRunOptions): Promise<RunEvaluation> {
  const { weights, posthocTau, ...shared } = options;
  const [evaluation] = await evaluateRunModels(shared, [{ weights, posthocTau }]);
  return evaluation!;
}

/**
 * Several models of one run (a sweep's best-validation and final weights, each with and without
 * post-hoc adjustment) on the same split, each evaluated and saved as evaluateRun does. The
 * split's clips are decoded once for all of them when the pipeline lets a run hold them
 * (loader.cacheMiB), and the forward pass is recorded once.
 */
export async function evaluateRunModels(options: Omit<EvaluateRunOptions, keyof RunModel>, models: readonly RunModel[]): Promise<RunEvaluation[]> {
  const log = options.log ?? (() => {});
  if (options.groups.length === 0) throw new UserError(`--groups: no class group given; choose from ${GROUP_NAMES.join(', ')}`);
  const thresholds = options.thresholds ?? SHOT_THRESHOLDS;
  const folder = new RunFolder(options.run);
  const info = await folder.readRunInfo();
  const p = info.pipeline;
  const chosen: { file: string; own: boolean }[] = [];
  for (const { weights } of models) chosen.push(await chooseWeights(folder, weights, log));
  const dataRoot = options.dataRoot ?? info.dataRoot;
  const { annotations, dataset } = await loadPipelineDataset(p, dataRoot);
  if (JSON.stringify(dataset.classes) !== JSON.stringify(info.classes))
    throw new UserError(`${dataRoot}: its classes differ from those the run was trained on`);
  const records = options.split === 'test' ? dataset.test : dataset.validation;
  if (records.length === 0) throw new UserError(`${annotations}: no ${options.split} clips with prepared frames`);
  const model = createPipelineModel(p, info.classes.length);
  const graph = new GraphStep();
  let resident: ResidentClips | null = null;
  try {
    const loader = createPipelineLoader(p, records, 'evaluate');
    if (models.length > 1 && residentUnfit(loader) === null && residentBytes(loader) <= (p.loader.cacheMiB ?? 0) * 2 ** 20)
      resident = await ResidentClips.build(loader);
    const evaluations: RunEvaluation[] = [];
    for (const [i, { posthocTau }] of models.entries()) {
      const weights = chosen[i]!;
      const tensors = await readSafetensors(weights.file);
      checkFiniteTensors(tensors, weights.file, 'these weights come from a diverged run and cannot be evaluated');
      const digest = await fileDigest(weights.file);
      const file = folder.evaluationFile(options.split, weights.own ? undefined : digest, posthocTau);
      // The prior is the training split's, as the run recorded it.
      const offsets = posthocTau === undefined ? undefined : logitAdjustment(info.trainingCounts, posthocTau).map((o) => -o);
      importTorchStateDict(model.parameters, tensors, weights.file);
      log(`evaluating ${options.run} on ${records.length} ${options.split} clips`);
      if (posthocTau !== undefined && p.loss.name !== 'ce')
        log(`note: post-hoc logit adjustment is meant for a model trained with plain CE; this one trained with ${p.loss.name}`);
      const metrics = await evaluateModel(model, resident ?? loader, info.classes, options.onBatch, { graph, ...(offsets ? { offsets } : {}) });
      if (metrics.unscoredSamples > 0) {
        throw new UserError(
          `${weights.file}: the model's scores of ${metrics.unscoredSamples} of ${records.length} ${options.split} clips hold NaN or Inf: these weights come from a diverged run and cannot be evaluated (nothing was saved)`,
        );
      }
      const grouped = groupedMetrics(metrics, groupDefinitions(info.trainingCounts, info.groups, thresholds), options.groups);
      const evaluation: RunEvaluation = {
        run: options.run,
        split: options.split,
        weights: path.resolve(weights.file),
        weightsDigest: digest,
        ownWeights: weights.own,
        seed: p.seed,
        clips: records.length,
        thresholds,
        posthoc: posthocTau === undefined ? null : { tau: posthocTau },
        ...grouped,
        confusion: metrics.result().confusion,
        file,
      };
      if (!weights.own) log(`${weights.file} is not this run's model: the evaluation is saved as ${file}, not as the run's own`);
      await writeFileAtomic(file, `${JSON.stringify(evaluation, null, 2)}\n`);
      evaluations.push(evaluation);
    }
    return evaluations;
  } finally {
    resident?.dispose();
    graph.dispose();
    model.parameters.dispose();
  }
}
