import { LABEL_KINDS, type LabelKind } from '../data/annotations.js';
import { parseSubjects } from '../data/splits.js';
import { DEFAULT_TRANSFORM, type TransformConfig } from '../data/transforms.js';
import { LOSS_NAMES, type LossName, type LossOptions } from '../losses/create-loss.js';
import { LENET5_INITIALIZERS, type Lenet5Initializer } from '../models/lenet5.js';
import { ARCHITECTURES, type Architecture } from '../models/presets.js';
import { UserError } from '../util/errors.js';

/**
 * One dataset recipe, read top to bottom: where the data is, how clips are sampled and
 * augmented, which model, which loss, and the schedule. Paths are relative to the data root.
 */
export interface Pipeline {
  name: string;
  description: string;
  dataset: {
    /** Folder with the split files (train_split1.txt, test_split1.txt) and the class index files. */
    annotations: string;
    /** Frames written by `egtea prepare` (with its manifest.jsonl). */
    frames: string;
    label: LabelKind;
    /** Subjects carved out of the training file for validation, e.g. 'P20-P26'. */
    validationSubjects: string;
    /** The k most frequent training classes form the majority group in reports. */
    majorityClasses: number;
  };
  clips: {
    /** Frames per clip: one per equal segment (10 in the paper; 1 for image datasets). */
    frames: number;
    transform: TransformConfig;
  };
  model: {
    arch: Architecture;
    /** Weights to start from (safetensors, PyTorch names); the head is replaced when the class count differs. */
    init?: string;
    /** LeNet-5: how its parameters start ('torch-default' when absent). */
    initializer?: Lenet5Initializer;
  };
  loss: {
    name: LossName;
    /** CDB's tau: a number, or 'dynamic' (recomputed from the validation accuracies each epoch). */
    tau: number | 'dynamic';
    /** The baselines' settings (see createLoss): focal gamma, class-balanced beta, EQL lambda and gamma, LDAM margin, scale and DRW epoch. */
    /** CDB beyond the paper: accuracy smoothing over epochs and a difficulty floor (both 0 by default: the paper's rule). */
    cdb?: { smoothing?: number; minDifficulty?: number };
    settings?: Pick<LossOptions, 'gamma' | 'beta' | 'eqlLambda' | 'eqlGamma' | 'ldamMaxMargin' | 'ldamScale' | 'drwEpoch'>;
  };
  schedule: {
    epochs: number;
    /** Clips per optimiser step; split into `accumulation` micro-batches of batchSize / accumulation. */
    batchSize: number;
    accumulation: number;
    learningRate: number;
    momentum: number;
    weightDecay: number;
    /** Epochs (1-based) after which the learning rate is multiplied by `gamma`. */
    milestones: number[];
    gamma: number;
  };
  loader: {
    /** Clips decoded at once. */
    concurrency: number;
    /** Batches prepared ahead. */
    prefetch: number;
  };
  seed: number;
}

/** The paper's clip transform: 224 x 224, random crop, +-10 degree rotation, flips. */
export const PAPER_TRANSFORM: TransformConfig = DEFAULT_TRANSFORM;

function check(condition: boolean, source: string, field: string, message: string): void {
  if (!condition) throw new UserError(`${source}: ${field} ${message}`);
}

const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
const nonNegative = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Checks every field a run depends on; a bad one is named with the pipeline it came from. */
export function validatePipeline(p: Pipeline, source: string): Pipeline {
  check(typeof p.name === 'string' && p.name.length > 0, source, 'name', 'is missing');
  check(typeof p.dataset?.annotations === 'string', source, 'dataset.annotations', 'must be a folder');
  check(typeof p.dataset?.frames === 'string', source, 'dataset.frames', 'must be a folder');
  check(LABEL_KINDS.includes(p.dataset.label), source, 'dataset.label', `must be one of ${LABEL_KINDS.join(', ')}`);
  try {
    parseSubjects(p.dataset.validationSubjects);
  } catch (error) {
    throw new UserError(`${source}: dataset.validationSubjects: ${(error as Error).message}`);
  }
  check(Number.isInteger(p.dataset.majorityClasses) && p.dataset.majorityClasses >= 0, source, 'dataset.majorityClasses', 'must be a whole number >= 0');
  check(positiveInt(p.clips?.frames), source, 'clips.frames', 'must be a positive whole number');
  const t = p.clips.transform;
  check(positiveInt(t?.size), source, 'clips.transform.size', 'must be a positive whole number');
  check(Array.isArray(t.cropScale) && t.cropScale.length === 2 && t.cropScale.every((v) => v > 0 && v <= 1) && t.cropScale[0] <= t.cropScale[1], source, 'clips.transform.cropScale', 'must be [low, high] within (0, 1]');
  check(nonNegative(t.rotation), source, 'clips.transform.rotation', 'must be degrees >= 0');
  check(nonNegative(t.flipProbability) && t.flipProbability <= 1, source, 'clips.transform.flipProbability', 'must lie in [0, 1]');
  check(Array.isArray(t.mean) && t.mean.length === 3 && Array.isArray(t.std) && t.std.length === 3 && t.std.every((v) => v > 0), source, 'clips.transform.mean/std', 'must give 3 channels (std > 0)');
  check((ARCHITECTURES as readonly string[]).includes(p.model?.arch), source, 'model.arch', `must be one of ${ARCHITECTURES.join(', ')}`);
  check(p.model.initializer === undefined || (LENET5_INITIALIZERS as readonly string[]).includes(p.model.initializer), source, 'model.initializer', `must be one of ${LENET5_INITIALIZERS.join(', ')}`);
  check((LOSS_NAMES as readonly string[]).includes(p.loss?.name), source, 'loss.name', `must be one of ${LOSS_NAMES.join(', ')}`);
  check(p.loss.tau === 'dynamic' || nonNegative(p.loss.tau), source, 'loss.tau', "must be a number >= 0 or 'dynamic'");
  check(p.loss.cdb?.smoothing === undefined || (nonNegative(p.loss.cdb.smoothing) && p.loss.cdb.smoothing < 1), source, 'loss.cdb.smoothing', 'must lie in [0, 1)');
  check(p.loss.cdb?.minDifficulty === undefined || (nonNegative(p.loss.cdb.minDifficulty) && p.loss.cdb.minDifficulty <= 1), source, 'loss.cdb.minDifficulty', 'must lie in [0, 1]');
  for (const [key, value] of Object.entries(p.loss.settings ?? {})) {
    check(value === null || nonNegative(value), source, `loss.settings.${key}`, 'must be a number >= 0');
  }
  const s = p.schedule;
  check(positiveInt(s?.epochs), source, 'schedule.epochs', 'must be a positive whole number');
  check(positiveInt(s.batchSize), source, 'schedule.batchSize', 'must be a positive whole number');
  check(positiveInt(s.accumulation) && s.batchSize % s.accumulation === 0, source, 'schedule.accumulation', `must divide batchSize (${s.batchSize})`);
  check(nonNegative(s.learningRate) && s.learningRate > 0, source, 'schedule.learningRate', 'must be > 0');
  check(nonNegative(s.momentum) && s.momentum < 1, source, 'schedule.momentum', 'must lie in [0, 1)');
  check(nonNegative(s.weightDecay), source, 'schedule.weightDecay', 'must be >= 0');
  check(Array.isArray(s.milestones) && s.milestones.every(positiveInt), source, 'schedule.milestones', 'must list positive whole epochs');
  check(nonNegative(s.gamma) && s.gamma > 0, source, 'schedule.gamma', 'must be > 0');
  check(positiveInt(p.loader?.concurrency), source, 'loader.concurrency', 'must be a positive whole number');
  check(Number.isInteger(p.loader.prefetch) && p.loader.prefetch >= 0, source, 'loader.prefetch', 'must be a whole number >= 0');
  check(Number.isInteger(p.seed) && p.seed >= 0, source, 'seed', 'must be a whole number >= 0');
  return p;
}

/** The learning rate of an epoch (1-based) under step decay. */
export function learningRateAt(schedule: Pipeline['schedule'], epoch: number): number {
  const passed = schedule.milestones.filter((m) => epoch > m).length;
  return schedule.learningRate * schedule.gamma ** passed;
}
