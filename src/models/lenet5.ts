import * as tf from '@tensorflow/tfjs-core';
import { maxPool2d } from '../engine/max-pool.js';
import type { ForwardContext } from './context.js';
import { applyHead, createHead, type Head, type HeadLayer } from './head.js';
import { applyConv2d, applyLinear, createConv2d, createLinear, framesAsImages, type Conv2dLayer, type LinearLayer } from './layers.js';
import type { ClipModel } from './model.js';
import { Parameters } from './parameters.js';

/**
 * How LeNet-5's parameters start:
 * - 'torch-default': PyTorch's nn.Conv2d / nn.Linear defaults (kaiming-uniform a = sqrt 5, bias
 *   uniform in +-1/sqrt(fan in));
 * - 'he-normal': weights normal with std sqrt(2 / fan in) (He et al., for ReLU), zero biases;
 * - 'l2rw': what the L2RW MNIST code (Ren et al. 2018, the setup the CDB paper follows) does:
 *   every weight truncated-normal with std 0.1 (redrawn beyond two std), zero biases.
 */
export const LENET5_INITIALIZERS = ['torch-default', 'he-normal', 'l2rw'] as const;
export type Lenet5Initializer = (typeof LENET5_INITIALIZERS)[number];

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
  private readonly fc3: HeadLayer;

  constructor(
    readonly numClasses: number,
    seed: number,
    channels = 1,
    size = 28,
    initializer: Lenet5Initializer = 'torch-default',
    head: Head = 'linear',
  ) {
    this.parameters = new Parameters(seed);
    const p = this.parameters;
    this.inputShape = [1, size, size, channels];
    const after = Math.floor((Math.floor((size - 4) / 2) - 4) / 2);
    this.conv1 = createConv2d(p, 'conv1', channels, 6, 5);
    this.conv2 = createConv2d(p, 'conv2', 6, 16, 5);
    this.fc1 = createLinear(p, 'fc1', 16 * after * after, 120, { kind: 'linear-after-flatten', height: after, width: after, channels: 16 });
    this.fc2 = createLinear(p, 'fc2', 120, 84);
    this.fc3 = createHead(p, 'fc3', 84, numClasses, head);
    if (initializer !== 'torch-default') this.reinitialize(initializer);
  }

  /** Replaces PyTorch's default values, each weight from its own seed (the model seed and its name). */
  private reinitialize(initializer: Exclude<Lenet5Initializer, 'torch-default'>): void {
    const layers: [string, { weight: tf.Variable; bias: tf.Variable | null }][] = [
      ['conv1', this.conv1],
      ['conv2', this.conv2],
      ['fc1', this.fc1],
      ['fc2', this.fc2],
      ['fc3', this.fc3],
    ];
    for (const [name, layer] of layers) {
      const shape = layer.weight.shape;
      // Conv filters are [k, k, in, out] and linear weights [in, out]: fan in is all but the last axis.
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const seed = this.parameters.seedFor(`${name}/${initializer}`);
      const values = tf.tidy(() =>
        initializer === 'he-normal' ? tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed) : tf.truncatedNormal(shape, 0, 0.1, 'float32', seed),
      );
      layer.weight.assign(values);
      values.dispose();
      if (layer.bias) {
        const zeros = tf.zerosLike(layer.bias);
        layer.bias.assign(zeros);
        zeros.dispose();
      }
    }
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
      return applyHead(this.fc3, hidden, context);
    });
  }
}
