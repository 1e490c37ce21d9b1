import * as tf from '@tensorflow/tfjs';
import { maxPool2d } from '../engine/max-pool.js';
import type { ForwardContext } from './context.js';
import { applyConv2d, applyLinear, createConv2d, createLinear, framesAsImages, type Conv2dLayer, type LinearLayer } from './layers.js';
import type { ClipModel } from './model.js';
import { Parameters } from './parameters.js';

/**
 * LeNet-5 as used for the imbalanced-MNIST experiments (the L2RW setup the CDB paper follows):
 * two 5x5 convs (6, 16 channels) with ReLU and 2x2 max pooling, then 120, 84 and the classes.
 * Takes single-frame clips [N, 1, 28, 28, C].
 */
export class LeNet5 implements ClipModel {
  readonly arch = 'lenet5';
  readonly parameters: Parameters;
  readonly headPrefix = 'fc3';
  readonly inputShape: [number, number, number, number];
  private readonly conv1: Conv2dLayer;
  private readonly conv2: Conv2dLayer;
  private readonly fc1: LinearLayer;
  private readonly fc2: LinearLayer;
  private readonly fc3: LinearLayer;

  constructor(
    readonly numClasses: number,
    seed: number,
    channels = 1,
    size = 28,
  ) {
    const p = (this.parameters = new Parameters(seed));
    this.inputShape = [1, size, size, channels];
    const after = Math.floor((Math.floor((size - 4) / 2) - 4) / 2);
    this.conv1 = createConv2d(p, 'conv1', channels, 6, 5);
    this.conv2 = createConv2d(p, 'conv2', 6, 16, 5);
    this.fc1 = createLinear(p, 'fc1', 16 * after * after, 120, { kind: 'linear-after-flatten', height: after, width: after, channels: 16 });
    this.fc2 = createLinear(p, 'fc2', 120, 84);
    this.fc3 = createLinear(p, 'fc3', 84, numClasses);
  }

  forward(clips: tf.Tensor5D, context: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      const n = clips.shape[0];
      let x = framesAsImages(clips, this.arch);
      x = maxPool2d(applyConv2d(this.conv1, x, context, 'relu'), 2, 2);
      x = maxPool2d(applyConv2d(this.conv2, x, context, 'relu'), 2, 2);
      // Flattened channels-last; fc1's rows are reordered to PyTorch's channels-first on import and export.
      const flat = tf.reshape(x, [n, -1]) as tf.Tensor2D;
      const hidden = applyLinear(this.fc2, applyLinear(this.fc1, flat, context, 'relu'), context, 'relu');
      return applyLinear(this.fc3, hidden, context);
    });
  }
}
