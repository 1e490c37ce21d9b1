import { imageClipDataset } from '../src/data/images/write-image-clips.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../src/data/transforms.js';
import { validatePipeline, type Pipeline } from '../src/config/pipeline.js';

/**
 * ImageNet-LT (`egtea images --dataset imagenet-lt --source IMAGENET --lists LISTS`) with the
 * CDB paper's model, ResNet-10. The paper defers the schedule to Liu et al.; this is their
 * stage-1 schedule as we read it (batch 256, SGD with momentum 0.9 and weight decay 5e-4, rate
 * 0.1 divided by 10 every 10 of 30 epochs). Augmentation is egtea's per-clip square crop of 35%
 * to all of the short side and flip, in place of torchvision's RandomResizedCrop. The majority
 * group is the 385 classes with more than 100 training images in Liu et al.'s list.
 */
const imagenetLt: Pipeline = {
  name: 'imagenet-lt',
  description: 'ImageNet-LT, ResNet-10, CDB-CE',
  dataset: imageClipDataset('imagenet-lt', { majorityClasses: 385 }),
  clips: {
    frames: 1,
    transform: { size: 224, cropScale: [0.35, 1], rotation: 0, flipProbability: 0.5, mean: IMAGENET_MEAN, std: IMAGENET_STD },
  },
  model: { arch: 'resnet10' },
  loss: { name: 'cdb', tau: 'dynamic' },
  schedule: {
    epochs: 30,
    batchSize: 256,
    accumulation: 1,
    learningRate: 0.1,
    momentum: 0.9,
    weightDecay: 0.0005,
    milestones: [10, 20],
    gamma: 0.1,
  },
  loader: { concurrency: 8, prefetch: 2 },
  seed: 1,
};

export default validatePipeline(imagenetLt, 'pipelines/imagenet-lt.ts');
