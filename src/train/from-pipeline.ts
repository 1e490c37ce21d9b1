import path from 'node:path';
import { ClipLoader, type ClipRecord } from '../data/clip-loader.js';
import { loadFrameDataset, type FrameDataset } from '../data/frame-dataset.js';
import type { ClipModel } from '../models/model.js';
import { createModel } from '../models/presets.js';
import { UserError } from '../util/errors.js';
import { pathExists } from '../util/files.js';
import type { Pipeline } from '../config/pipeline.js';

// What a pipeline names, built one way for training and for evaluation.

/** The pipeline's prepared frames under a data root, split by subject. */
export async function loadPipelineDataset(p: Pipeline, dataRoot: string): Promise<{ annotations: string; dataset: FrameDataset }> {
  const annotations = path.resolve(dataRoot, p.dataset.annotations);
  if (!(await pathExists(annotations))) {
    throw new UserError(
      `${annotations}: no such folder (pipeline ${p.name} reads ${p.dataset.annotations} under --data ${dataRoot}); make the data with egtea synth and prepare, egtea images, or copy EGTEA's annotation files there`,
    );
  }
  const dataset = await loadFrameDataset({
    annotations,
    frames: path.resolve(dataRoot, p.dataset.frames),
    label: p.dataset.label,
    validationSubjects: p.dataset.validationSubjects,
  });
  return { annotations, dataset };
}

/** The loader gives RGB frames, so every model takes 3 channels (grey images arrive as equal channels). */
export function createPipelineModel(p: Pipeline, numClasses: number, seed = p.seed): ClipModel {
  return createModel({
    arch: p.model.arch,
    numClasses,
    frames: p.clips.frames,
    size: p.clips.transform.size,
    channels: 3,
    seed,
    ...(p.model.initializer ? { initializer: p.model.initializer } : {}),
    ...(p.model.head ? { head: p.model.head } : {}),
  });
}

/** Training takes whole batches (split into micro-batches later); evaluation takes micro-batches. */
export function createPipelineLoader(p: Pipeline, records: readonly ClipRecord[], mode: 'train' | 'evaluate'): ClipLoader {
  return new ClipLoader(records, {
    batchSize: mode === 'train' ? p.schedule.batchSize : p.schedule.batchSize / p.schedule.accumulation,
    segments: p.clips.frames,
    training: mode === 'train',
    transform: p.clips.transform,
    seed: p.seed,
    concurrency: p.loader.concurrency,
    prefetch: p.loader.prefetch,
    ...(p.loader.cacheMiB ? { cacheMiB: p.loader.cacheMiB } : {}),
    ...(mode === 'train' && p.loader.classSampling !== undefined ? { classSampling: p.loader.classSampling } : {}),
  });
}
