import { imageClipDataset } from '../src/data/images/write-image-clips.js';
import { validatePipeline, type Pipeline } from '../src/config/pipeline.js';

/**
 * Long-tailed CIFAR-100 as the CDB paper (after Cui et al.) trains it
 * (`egtea images --dataset cifar100-lt --imbalance N`): ResNet-32, batch 128, SGD with momentum
 * 0.9 and weight decay 5e-4, rate 0.1 multiplied by 0.01 after epochs 160 and 180 of 200.
 * Augmentation is egtea's per-clip crop (7/8 to all of the image, resized to 32) and flip, where
 * Cui et al. pad by 4 and crop.
 */
const cifar100Lt: Pipeline = {
  name: 'cifar100-lt',
  description: 'long-tailed CIFAR-100, ResNet-32, CDB-CE (the paper setting)',
  dataset: imageClipDataset('cifar100-lt', { majorityClasses: 33 }),
  clips: {
    frames: 1,
    transform: { size: 32, cropScale: [0.875, 1], rotation: 0, flipProbability: 0.5, mean: [0.507, 0.487, 0.441], std: [0.267, 0.256, 0.276] },
  },
  model: { arch: 'resnet32' },
  loss: { name: 'cdb', tau: 'dynamic' },
  schedule: {
    epochs: 200,
    batchSize: 128,
    accumulation: 1,
    learningRate: 0.1,
    momentum: 0.9,
    weightDecay: 0.0005,
    milestones: [160, 180],
    gamma: 0.01,
  },
  // Decoded once per run: CIFAR-100-LT's 10847 training images (imbalance 100) take 32 MB decoded.
  loader: { concurrency: 8, prefetch: 2, cacheMiB: 256 },
  seed: 1,
};

export default validatePipeline(cifar100Lt, 'pipelines/cifar100-lt.ts');
