import { imageClipDataset } from '../src/data/images/write-image-clips.js';
import { validatePipeline, type Pipeline } from '../src/config/pipeline.js';

/**
 * Imbalanced MNIST as the CDB paper (after L2RW) trains it: 4 against 9 with 9 the majority
 * (`egtea images --dataset mnist-imbalanced --majority-ratio R`), LeNet-5, batch 100, SGD with
 * momentum 0.9 and weight decay 5e-4, rate 1e-3 divided by 10 after epoch 3000 of 4000. Digits
 * run as one-frame clips, uncropped and unaugmented, normalised with MNIST's mean and deviation.
 */
const mnistImbalanced: Pipeline = {
  name: 'mnist-imbalanced',
  description: 'imbalanced MNIST 4 vs 9, LeNet-5, CDB-CE (the paper setting)',
  dataset: imageClipDataset('mnist-imbalanced', { majorityClasses: 1 }),
  clips: {
    frames: 1,
    transform: { size: 28, cropScale: [1, 1], rotation: 0, flipProbability: 0, mean: [0.1307, 0.1307, 0.1307], std: [0.3081, 0.3081, 0.3081] },
  },
  model: { arch: 'lenet5' },
  loss: { name: 'cdb', tau: 'dynamic' },
  schedule: {
    epochs: 4000,
    batchSize: 100,
    accumulation: 1,
    learningRate: 0.001,
    momentum: 0.9,
    weightDecay: 0.0005,
    milestones: [3000],
    gamma: 0.1,
  },
  // The 7600 decoded images take 18 MB: decoded once per run, not once per epoch.
  loader: { concurrency: 8, prefetch: 2, cacheMiB: 256 },
  seed: 1,
};

export default validatePipeline(mnistImbalanced, 'pipelines/mnist-imbalanced.ts');
