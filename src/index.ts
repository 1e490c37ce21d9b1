// egtea as a library, by area: losses, data, models, training, evaluation, engine.
// `import { ... } from 'egtea'`; the built-in recipes are `egtea/pipelines`.

// ---- Losses ----
/** CDB weights and tau (cdbWeights, dynamicTau), the baselines' class weights, DifficultyTracker, createLoss and each loss. */
export * from './losses/index.js';

// ---- Data ----
/** EGTEA-style annotation files: clips, class indices, labels by verb, noun or action. */
export {
  readAnnotations,
  readSplitFile,
  readClassIndex,
  labelOf,
  classNames,
  type ClipAnnotation,
  type AnnotationSet,
  type LabelKind,
} from './data/annotations.js';
/** A clip name's subject, recipe and frame range. */
export { parseClipName } from './data/clip-name.js';
/** Validation carved out of the training file by subject (P20-P26 by default). */
export { parseSubjects, splitBySubject, DEFAULT_VALIDATION_SUBJECTS } from './data/splits.js';
/** The majority (k most frequent) and minority class groups, the many/medium/few-shot groups, and clips per class. */
export {
  classGroups,
  countPerClass,
  groupDefinitions,
  GROUP_NAMES,
  SHOT_THRESHOLDS,
  type ClassGroups,
  type ClassGroup,
  type GroupName,
  type ShotThresholds,
} from './data/class-groups.js';
/** What `egtea info` reports: splits, counts per class and group. */
export { summarizeDataset, type DatasetSummary } from './data/dataset-summary.js';
/** Frame sampling: one random frame per segment for training, the middles for evaluation. */
export { segmentBoundaries, trainingFrameIndices, evaluationFrameIndices, classSampledOrder } from './data/sampling.js';
/** Per-clip augmentation (crop, rotation, flip) and normalisation into [T, H, W, C] floats. */
export {
  DEFAULT_TRANSFORM,
  IMAGENET_MEAN,
  IMAGENET_STD,
  drawAugmentation,
  centreAugmentation,
  loadClipFramesInto,
  type TransformConfig,
  type ClipAugmentation,
} from './data/transforms.js';
/** Batches of clips with prefetch, seeded by epoch and clip name. */
export { ClipLoader, type ClipRecord, type LoaderOptions, type Batch } from './data/clip-loader.js';
/** A prepared frame folder with its annotations, as train and eval read it. */
export { loadFrameDataset, type FrameDataset } from './data/frame-dataset.js';
/** Image datasets (imbalanced MNIST, long-tailed CIFAR, ImageNet-LT) written as one-frame clips. */
export { importImages, IMAGE_DATASETS, type ImageDataset, type ImportImagesOptions } from './data/images/import-images.js';
/** MNIST's IDX files. */
export { readMnist } from './data/images/mnist-idx.js';
/** CIFAR-10/100's binary files. */
export { readCifar, type CifarKind } from './data/images/cifar-binary.js';
/** The papers' imbalanced and long-tailed constructions of the image datasets. */
export { imbalancedMnistSplits, longTailedSplits, IMBALANCED_MNIST, type ImageSplits } from './data/images/imbalanced-splits.js';
/** EGTEA-like H.264 clips with EGTEA's imbalance (`egtea synth`). */
export { synthesize, type SynthOptions } from './video/synth/synthesize.js';
/** Frames from videos with ffmpeg, resumable (`egtea prepare`). */
export { prepareFrames, type PrepareOptions, type PrepareSummary } from './video/prepare.js';

// ---- Models ----
/** A model by architecture name (resnext3d-50/101/152/tiny, lenet5, resnet32, resnet10). */
export { createModel, ARCHITECTURES, tinyResNeXt3dConfig, type Architecture, type ModelRequest } from './models/presets.js';
/** Hara et al.'s 3D-ResNeXt. */
export { ResNeXt3D, resnext3dConfig, type ResNeXt3DConfig } from './models/resnext3d.js';
/** LeNet-5 for the imbalanced-MNIST setting. */
export { LeNet5 } from './models/lenet5.js';
/** What every model gives: `forward(clips, context)` from [N, T, H, W, C] clips to logits. */
export type { ClipModel } from './models/model.js';
/** A forward pass's mode (training or inference) and its batch-norm statistics to apply after it. */
export { trainingContext, inferenceContext, applyBatchNormUpdates, type ForwardContext } from './models/context.js';
/** Weights in PyTorch's names and layout. */
export { importTorchStateDict, exportTorchStateDict } from './models/torch-weights.js';
/** safetensors files, read and written. */
export { readSafetensors, writeSafetensors, parseSafetensors } from './io/safetensors.js';

// ---- Training ----
/** One optimisation step, or one over several accumulated micro-batches. */
export { trainStep, accumulatedTrainStep, type LossFunction, type GradientApplier } from './train/step.js';
/** SGD with momentum and weight decay exactly as torch.optim.SGD. */
export { Sgd, type SgdOptions } from './train/sgd.js';
/** A whole pipeline run as `egtea train` does: validation per epoch, CDB updates, checkpoints, resume. */
export { train, type TrainOptions, type TrainResult, type EpochRecord, type EvaluationSummary } from './train/trainer.js';
/** A recipe's checks and its learning-rate schedule. */
export { validatePipeline, learningRateAt, type Pipeline } from './config/pipeline.js';
/** Seeded random numbers keyed by purpose. */
export { SeededRandom } from './util/random.js';

// ---- Evaluation ----
/** Top-1, top-5, per-class and macro recall/precision, overall and by class group. */
export { MetricsAccumulator, summarize, type ClassificationMetrics, type SummaryMetrics } from './metrics/metrics.js';
/** A model evaluated on a split's clips. */
export { evaluateModel } from './metrics/evaluate.js';

// ---- Engine ----
/** The backend: native TensorFlow (GPU, CPU) or pure JS, and what is active. */
export { selectBackend, activeEngine, parseBackendChoice, BACKEND_CHOICES, type BackendChoice, type EngineInfo } from './engine/backend.js';
/** 3D convolution, grouped included, on the fastest path available. */
export { conv3d, type Conv3dSpec } from './engine/conv3d.js';
/** Forces one grouped-convolution path (kernel, per-group split or TensorFlow's). */
export { resolveGroupedConvImpl, setGroupedConvImpl, type GroupedConvImpl } from './engine/dispatch.js';
/** Bias add with an activation, as one native op. */
export { biasActivation, type Activation } from './engine/bias-activation.js';
/** Softmax cross-entropy per sample, as one native op. */
export { softmaxCrossEntropy } from './engine/softmax-cross-entropy.js';
/** Max pooling that keeps each maximum's position for its gradient. */
export { maxPool2d, maxPool3d } from './engine/max-pool.js';
/** Matrix product on TensorFlow's MatMul. */
export { matMul } from './engine/mat-mul.js';
