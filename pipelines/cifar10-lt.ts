import { imageClipDataset } from '../src/data/images/write-image-clips.js';
import { validatePipeline, type Pipeline } from '../src/config/pipeline.js';
import cifar100Lt from './cifar100-lt.js';

/**
 * Long-tailed CIFAR-10 (`egtea images --dataset cifar10-lt --imbalance 100`, from CIFAR-10's
 * binary version): the CIFAR-100-LT recipe (ResNet-32, batch 128, SGD 0.1 with momentum 0.9 and
 * weight decay 5e-4, x0.01 after epochs 160 and 180 of 200) with CIFAR-10's own per-channel
 * statistics. At imbalance 100 its training counts run from 5000 down to 50, so the majority
 * group is the 3 most frequent classes (a third, as cifar100-lt's 33 of 100), and by training
 * samples 8 classes are many-shot and 2 medium: none is few-shot.
 */
const cifar10Lt: Pipeline = {
  ...cifar100Lt,
  name: 'cifar10-lt',
  description: 'long-tailed CIFAR-10, ResNet-32, CDB-CE',
  dataset: imageClipDataset('cifar10-lt', { majorityClasses: 3 }),
  clips: {
    frames: 1,
    transform: { ...cifar100Lt.clips.transform, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  },
};

export default validatePipeline(cifar10Lt, 'pipelines/cifar10-lt.ts');
