import { LABEL_KINDS, type LabelKind } from '../data/annotations.js';
import { parseSubjects } from '../data/splits.js';
import type { TransformConfig } from '../data/transforms.js';
import { LOSS_FIELD, type LossConfig } from './loss-config.js';
import { checkValue, custom, group, number, numberList, oneOf, optional, text, wholeNumber, type Group } from '../util/schema.js';
import { LENET5_INITIALIZERS, type Lenet5Initializer } from '../models/lenet5.js';
import { HEADS, type Head } from '../models/head.js';
import { ARCHITECTURES, COSINE_HEAD_ARCHS, type Architecture } from '../models/presets.js';
import { UserError } from '../util/errors.js';

/**
 * How a model's weights start: PyTorch's default layer initialisation, He-normal (fan-in), or
 * what the L2RW code does (truncated normal, deviation 0.1, zero biases); LeNet-5 owns them.
 */
export const MODEL_INITIALIZERS = LENET5_INITIALIZERS;
export type ModelInitializer = Lenet5Initializer;
/** The architectures that implement an initialiser other than PyTorch's default. */
const HE_NORMAL_ARCHS: readonly Architecture[] = ['lenet5'];

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
    /** How the weights start when not loaded from `init` (default 'torch-default'). */
    initializer?: ModelInitializer;
    /** The last layer (default 'linear'); 'cosine' is the normed classifier LDAM's scale assumes (models/head.ts). */
    head?: Head;
  };
  /** The loss and its own settings (see src/config/loss-config.ts): `{ name: 'cdb', tau: 'dynamic' }`, `{ name: 'focal', gamma: 1 }`. */
  loss: LossConfig;
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
    /** Loading jobs at once; each batch is split into at most this many. */
    concurrency: number;
    /** Batches prepared ahead. */
    prefetch: number;
    /**
     * Memory for decoded images (MiB; default 0): a set that every epoch loads alike and that fits
     * is held whole on the device, decoded once per run (src/data/resident-clips.ts); otherwise
     * decoded frames are kept up to this size, so small images are decoded once per run.
     */
    cacheMiB?: number;
    /** Class-based sampling for training: class c drawn with probability proportional to n_c^q (0 class-balanced, 0.5 square-root, 1 instance); left out, every clip once per epoch. */
    classSampling?: number;
  };
  seed: number;
}

const positive = (doc: string) => number(doc, { min: 0, minOpen: true });
const nonNegative = (doc: string) => number(doc, { min: 0 });

/** Seeds: any whole number >= 0, in pipelines and on the command line alike. */
export const SEED_FIELD = wholeNumber('seed of every random choice of the run (data order, augmentation, initialisation, loss draws)', 0);

const subjects = custom("subjects carved out of the training file for validation, e.g. 'P20-P26,OP01'", "subject ranges such as 'P20-P26'", (v) => {
  if (typeof v !== 'string') return "must be subject ranges such as 'P20-P26'";
  try {
    parseSubjects(v);
    return null;
  } catch (error) {
    return `is not valid: ${(error as Error).message}`;
  }
});

const unitInterval = (doc: string) => number(doc, { min: 0, max: 1 });

/** Every key of a pipeline: what it holds and what it must be. */
export const PIPELINE_SCHEMA: Group = group<Pipeline>('a training recipe', {
  name: text("the recipe's name (runs default to runs/<name>-<loss>)"),
  description: optionalText('one line saying what the recipe is'),
  dataset: group<Pipeline['dataset']>('where the data is', {
    annotations: text('folder of the split and class index files, under the data root'),
    frames: text('folder of the prepared frames (with manifest.jsonl), under the data root'),
    label: oneOf('what a class is', LABEL_KINDS),
    validationSubjects: subjects,
    majorityClasses: wholeNumber('the k most frequent training classes form the majority group in reports', 0),
  }),
  clips: group<Pipeline['clips']>('how clips are sampled and augmented', {
    frames: wholeNumber('frames per clip, one per equal segment', 1),
    transform: group<TransformConfig>('the frame transform', {
      size: wholeNumber('output frames are size x size', 1),
      cropScale: numberList('training crop: [low, high] fractions of the short side, drawn per clip', number('', { min: 0, max: 1, minOpen: true }), 2),
      rotation: nonNegative('largest rotation in degrees, either way'),
      flipProbability: unitInterval('probability of a horizontal flip'),
      mean: numberList('per-channel mean subtracted after scaling to [0, 1]', number('', {}), 3),
      std: numberList('per-channel deviation divided by', positive(''), 3),
    }),
  }),
  model: group<Pipeline['model']>('the model', {
    arch: oneOf('the architecture', ARCHITECTURES),
    init: optional(text('safetensors weights to start from (PyTorch names)')),
    initializer: optional(
      oneOf(
        "how the weights start: 'torch-default' (PyTorch's layer defaults; default), 'he-normal' (fan-in) or 'l2rw' (truncated normal, deviation 0.1, zero biases)",
        MODEL_INITIALIZERS,
      ),
    ),
    head: optional(
      oneOf(
        "the last layer: 'linear' (default) or 'cosine' (unit features times unit weight columns, no bias: the normed classifier LDAM's scale assumes)",
        HEADS,
      ),
    ),
  }),
  loss: LOSS_FIELD,
  schedule: group<Pipeline['schedule']>('the optimiser and its schedule', {
    epochs: wholeNumber('epochs to train', 1),
    batchSize: wholeNumber('clips per optimiser step', 1),
    accumulation: wholeNumber('micro-batches a step is split into (must divide batchSize)', 1),
    learningRate: positive('SGD learning rate'),
    momentum: number('SGD momentum', { min: 0, max: 1, maxOpen: true }),
    weightDecay: nonNegative('L2 weight decay'),
    milestones: numberList('epochs (1-based) after which the rate is multiplied by gamma', wholeNumber('', 1)),
    gamma: positive('factor of the rate at each milestone'),
  }),
  loader: group<Pipeline['loader']>('the clip loader', {
    concurrency: wholeNumber('loading jobs at once', 1),
    prefetch: wholeNumber('batches prepared ahead', 0),
    cacheMiB: optional(
      wholeNumber(
        'memory for decoded images, in MiB: a set every epoch loads alike (no augmentation that draws pixels) is held whole on the device when it fits, else decoded frames are kept (small images are then decoded once per run, not once per epoch)',
        0,
      ),
    ),
    classSampling: optional(
      number(
        'training clips drawn by class, class c with probability proportional to n_c^q, with replacement: 0 class-balanced, 0.5 square-root, 1 instance-balanced (left out: every clip once per epoch, shuffled)',
        { min: 0, max: 1 },
      ),
    ),
  }),
  seed: SEED_FIELD,
});

function optionalText(doc: string) {
  return optional({ ...text(doc), expects: 'a text', check: (v: unknown) => (typeof v === 'string' ? null : 'must be a text') });
}

/**
 * Checks every key a run depends on and refuses unknown ones (with the nearest known key); a
 * bad one is named with the pipeline it came from.
 */
export function validatePipeline(p: Pipeline, source: string): Pipeline {
  checkValue(PIPELINE_SCHEMA, p, '', source);
  // What one key cannot say alone.
  const s = p.schedule;
  const [low, high] = p.clips.transform.cropScale;
  if (low > high) throw new UserError(`${source}: clips.transform.cropScale [${low}, ${high}] must be [low, high] with low <= high`);
  if (s.batchSize % s.accumulation !== 0) throw new UserError(`${source}: schedule.accumulation must divide batchSize (${s.batchSize})`);
  const initializer = p.model.initializer ?? 'torch-default';
  if (initializer !== 'torch-default' && !HE_NORMAL_ARCHS.includes(p.model.arch)) {
    throw new UserError(
      `${source}: model.initializer '${initializer}' is implemented for ${HE_NORMAL_ARCHS.join(', ')} only; ${p.model.arch} starts from PyTorch's defaults (leave initializer out)`,
    );
  }
  if ((p.model.head ?? 'linear') !== 'linear' && !COSINE_HEAD_ARCHS.includes(p.model.arch)) {
    throw new UserError(`${source}: model.head '${p.model.head}' is implemented for ${COSINE_HEAD_ARCHS.join(', ')} only; leave head out for ${p.model.arch}`);
  }
  return p;
}

/** The learning rate of an epoch (1-based) under step decay. */
export function learningRateAt(schedule: Pipeline['schedule'], epoch: number): number {
  const passed = schedule.milestones.filter((m) => epoch > m).length;
  return schedule.learningRate * schedule.gamma ** passed;
}
