import { imageClipDataset } from '../src/data/images/write-image-clips.js';
import { validatePipeline, type Pipeline } from '../src/config/pipeline.js';
import mnistImbalanced from './mnist-imbalanced.js';

/**
 * The paper's imbalanced-MNIST protocol on Fashion-MNIST (Debian's dataset-fashion-mnist), built
 * by `egtea images --dataset mnist-imbalanced --source /usr/share/datasets/fashion-mnist
 * --classes 4,2 --out data/fashion-mnist-imbalanced` (coat the minority, pullover the majority).
 * Normalised with Fashion-MNIST's own statistics: mean 0.2860 and deviation 0.3530 of the pixels
 * of its 60000 training images (MNIST's are 0.1307 and 0.3081). He-normal initialisation: with
 * PyTorch's default one, LeNet-5 calls every image the majority class for the whole 2000-iteration
 * short schedule on this pair (docs/paper.md).
 */
const fashionMnist: Pipeline = {
  ...mnistImbalanced,
  name: 'fashion-mnist',
  description: 'imbalanced Fashion-MNIST (coat vs pullover by default), LeNet-5 (He-normal), CDB-CE',
  dataset: imageClipDataset('fashion-mnist-imbalanced', { majorityClasses: 1 }),
  clips: {
    frames: 1,
    transform: { ...mnistImbalanced.clips.transform, mean: [0.286, 0.286, 0.286], std: [0.353, 0.353, 0.353] },
  },
  model: { arch: 'lenet5', initializer: 'he-normal' },
};

export default validatePipeline(fashionMnist, 'pipelines/fashion-mnist.ts');
