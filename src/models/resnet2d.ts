import * as tf from '@tensorflow/tfjs-core';
import { maxPool2d } from '../engine/max-pool.js';
import { subsample3d } from '../engine/subsample.js';
import type { ForwardContext } from './context.js';
import { applyHead, createHead, type Head, type HeadLayer } from './head.js';
import { applyBatchNorm, applyConv2d, createBatchNorm, createConv2d, framesAsImages, type BatchNormLayer, type Conv2dLayer } from './layers.js';
import type { ClipModel } from './model.js';
import { Parameters } from './parameters.js';

/**
 * 2D ResNets with basic blocks for the image datasets of single-frame mode:
 * - `cifar` (He et al. 2016, section 4.2; the LDAM-DRW and class-balanced-loss code): 3x3 stem
 *   of 16, three stages of 16/32/64, option-A shortcuts (subsample and zero-pad channels).
 *   ResNet-32 has 5 blocks per stage.
 * - `imagenet` (torchvision): 7x7 stride-2 stem of 64, max pool, four stages of 64-512,
 *   type-B shortcuts (1x1 conv + BN). ResNet-10 has 1 block per stage.
 */
export interface ResNet2DConfig {
  style: 'cifar' | 'imagenet';
  blocks: number[];
  numClasses: number;
  size: number;
  channels: number;
}

/** He et al.'s CIFAR ResNet-32: three stages of 5 basic blocks. */
export function resnet32Config(numClasses: number, size = 32, channels = 3): ResNet2DConfig {
  return { style: 'cifar', blocks: [5, 5, 5], numClasses, size, channels };
}

/** The ImageNet-style ResNet-10 of Liu et al.'s ImageNet-LT baselines: one basic block per stage. */
export function resnet10Config(numClasses: number, size = 224, channels = 3): ResNet2DConfig {
  return { style: 'imagenet', blocks: [1, 1, 1, 1], numClasses, size, channels };
}

interface BasicBlock {
  conv1: Conv2dLayer;
  bn1: BatchNormLayer;
  conv2: Conv2dLayer;
  bn2: BatchNormLayer;
  shortcut: { kind: 'identity' } | { kind: 'pad'; extra: number; stride: number } | { kind: 'projection'; conv: Conv2dLayer; bn: BatchNormLayer };
}

export class ResNet2D implements ClipModel {
  readonly parameters: Parameters;
  readonly headPrefix: string;
  readonly numClasses: number;
  readonly inputShape: [number, number, number, number];
  private readonly stem: { conv: Conv2dLayer; bn: BatchNormLayer };
  private readonly stages: BasicBlock[][];
  private readonly head: HeadLayer;

  constructor(
    readonly config: ResNet2DConfig,
    seed: number,
    readonly arch: string,
    head: Head = 'linear',
  ) {
    this.parameters = new Parameters(seed);
    const p = this.parameters;
    this.numClasses = config.numClasses;
    this.inputShape = [1, config.size, config.size, config.channels];
    const cifar = config.style === 'cifar';
    const init = cifar ? 'fan-in' : 'fan-out';
    const widths = cifar ? [16, 32, 64] : [64, 128, 256, 512];
    if (config.blocks.length !== widths.length) throw new Error(`${arch}: ${widths.length} stages expected, got ${config.blocks.length}`);
    this.stem = cifar
      ? { conv: createConv2d(p, 'conv1', config.channels, 16, 3, { padding: 1, bias: false, init }), bn: createBatchNorm(p, 'bn1', 16) }
      : { conv: createConv2d(p, 'conv1', config.channels, 64, 7, { stride: 2, padding: 3, bias: false, init }), bn: createBatchNorm(p, 'bn1', 64) };
    let channels = widths[0]!;
    this.stages = config.blocks.map((count, stage) => {
      const width = widths[stage]!;
      return Array.from({ length: count }, (_, i) => {
        const stride = stage > 0 && i === 0 ? 2 : 1;
        const name = `layer${stage + 1}.${i}`;
        const changes = stride !== 1 || channels !== width;
        const block: BasicBlock = {
          conv1: createConv2d(p, `${name}.conv1`, channels, width, 3, { stride, padding: 1, bias: false, init }),
          bn1: createBatchNorm(p, `${name}.bn1`, width),
          conv2: createConv2d(p, `${name}.conv2`, width, width, 3, { padding: 1, bias: false, init }),
          bn2: createBatchNorm(p, `${name}.bn2`, width),
          shortcut: !changes
            ? { kind: 'identity' }
            : cifar
              ? { kind: 'pad', extra: (width - channels) / 2, stride }
              : {
                  kind: 'projection',
                  conv: createConv2d(p, `${name}.downsample.0`, channels, width, 1, { stride, bias: false, init }),
                  bn: createBatchNorm(p, `${name}.downsample.1`, width),
                },
        };
        channels = width;
        return block;
      });
    });
    this.headPrefix = cifar ? 'linear' : 'fc';
    this.head = createHead(p, this.headPrefix, channels, config.numClasses, head);
  }

  private shortcut(block: BasicBlock, x: tf.Tensor4D, context: ForwardContext): tf.Tensor4D {
    const s = block.shortcut;
    if (s.kind === 'identity') return x;
    if (s.kind === 'projection') return applyBatchNorm(s.bn, applyConv2d(s.conv, x, context), context);
    // Option A: keep every other pixel, add zero channels on both sides.
    // (subsample3d carries the gradient tfjs lacks for strided slices.)
    const sub = tf.squeeze(subsample3d(tf.expandDims(x, 1) as tf.Tensor5D, [1, s.stride, s.stride]), [1]) as tf.Tensor4D;
    return tf.pad(sub, [
      [0, 0],
      [0, 0],
      [0, 0],
      [s.extra, s.extra],
    ]);
  }

  forward(clips: tf.Tensor5D, context: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      let x = applyBatchNorm(this.stem.bn, applyConv2d(this.stem.conv, framesAsImages(clips, this.arch), context), context, { relu: true });
      if (this.config.style === 'imagenet') x = maxPool2d(x, 3, 2, 1);
      for (const stage of this.stages) {
        for (const block of stage) {
          const y = applyBatchNorm(block.bn1, applyConv2d(block.conv1, x, context), context, { relu: true });
          x = applyBatchNorm(block.bn2, applyConv2d(block.conv2, y, context), context, { residual: this.shortcut(block, x, context), relu: true });
        }
      }
      return applyHead(this.head, tf.mean(x, [1, 2]) as tf.Tensor2D, context);
    });
  }
}
