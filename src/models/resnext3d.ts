import * as tf from '@tensorflow/tfjs-core';
import { maxPool3d } from '../engine/max-pool.js';
import type { ForwardContext } from './context.js';
import {
  applyBatchNorm,
  applyConv3d,
  applyLinear,
  createBatchNorm,
  createConv3d,
  createLinear,
  type BatchNormLayer,
  type Conv3dLayer,
  type LinearLayer,
} from './layers.js';
import type { ClipModel } from './model.js';
import { Parameters } from './parameters.js';

/** 3D-ResNeXt (Hara et al., CVPR 2018; the 3D-ResNets-PyTorch code), channels-last. */
export interface ResNeXt3DConfig {
  /** Bottleneck blocks per stage: 50 -> [3,4,6,3], 101 -> [3,4,23,3], 152 -> [3,8,36,3]. */
  blocks: [number, number, number, number];
  cardinality: number;
  /** Stage widths before expansion; a block's grouped width is cardinality * planes / 32. */
  planes: [number, number, number, number];
  stemChannels: number;
  stemTemporalKernel: number;
  numClasses: number;
  frames: number;
  size: number;
}

const EXPANSION = 2;

const RESNEXT3D_DEPTHS: Record<number, [number, number, number, number]> = {
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
  152: [3, 8, 36, 3],
};

export function resnext3dConfig(depth: number, numClasses: number, frames = 10, size = 224): ResNeXt3DConfig {
  const blocks = RESNEXT3D_DEPTHS[depth];
  if (!blocks) throw new Error(`3D-ResNeXt depth ${depth} is not one of ${Object.keys(RESNEXT3D_DEPTHS).join(', ')}`);
  return { blocks, cardinality: 32, planes: [128, 256, 512, 1024], stemChannels: 64, stemTemporalKernel: 7, numClasses, frames, size };
}

/**
 * A narrow, shallow 3D-ResNeXt (one block per stage, cardinality 4, grouped widths 4 to 32) for tests and
 * the CPU demo: the same code path as the 101, a hundredth of the work.
 */
export function tinyResNeXt3dConfig(numClasses: number, frames = 8, size = 64): ResNeXt3DConfig {
  return { blocks: [1, 1, 1, 1], cardinality: 4, planes: [32, 64, 128, 256], stemChannels: 16, stemTemporalKernel: 3, numClasses, frames, size };
}

interface Bottleneck {
  conv1: Conv3dLayer;
  bn1: BatchNormLayer;
  conv2: Conv3dLayer;
  bn2: BatchNormLayer;
  conv3: Conv3dLayer;
  bn3: BatchNormLayer;
  /** Shortcut type B: a strided 1x1x1 conv and BN, only where the shape changes. */
  downsample: { conv: Conv3dLayer; bn: BatchNormLayer } | null;
}

export function createBottleneck(params: Parameters, name: string, inChannels: number, planes: number, cardinality: number, stride: number): Bottleneck {
  const width = (cardinality * planes) / 32;
  const out = planes * EXPANSION;
  const s: [number, number, number] = [stride, stride, stride];
  const needsProjection = stride !== 1 || inChannels !== out;
  return {
    conv1: createConv3d(params, `${name}.conv1`, inChannels, width, { kernel: [1, 1, 1] }),
    bn1: createBatchNorm(params, `${name}.bn1`, width),
    conv2: createConv3d(params, `${name}.conv2`, width, width, { kernel: [3, 3, 3], stride: s, padding: [1, 1, 1], groups: cardinality }),
    bn2: createBatchNorm(params, `${name}.bn2`, width),
    conv3: createConv3d(params, `${name}.conv3`, width, out, { kernel: [1, 1, 1] }),
    bn3: createBatchNorm(params, `${name}.bn3`, out),
    downsample: needsProjection
      ? {
          conv: createConv3d(params, `${name}.downsample.0`, inChannels, out, { kernel: [1, 1, 1], stride: s }),
          bn: createBatchNorm(params, `${name}.downsample.1`, out),
        }
      : null,
  };
}

export function applyBottleneck(block: Bottleneck, x: tf.Tensor5D, context: ForwardContext): tf.Tensor5D {
  return tf.tidy(() => {
    const shortcut = block.downsample ? applyBatchNorm(block.downsample.bn, applyConv3d(block.downsample.conv, x, context), context) : x;
    let y = applyBatchNorm(block.bn1, applyConv3d(block.conv1, x, context), context, { relu: true });
    y = applyBatchNorm(block.bn2, applyConv3d(block.conv2, y, context), context, { relu: true });
    return applyBatchNorm(block.bn3, applyConv3d(block.conv3, y, context), context, { residual: shortcut, relu: true });
  });
}

export class ResNeXt3D implements ClipModel {
  readonly parameters: Parameters;
  readonly headPrefix = 'fc';
  readonly numClasses: number;
  readonly inputShape: [number, number, number, number];
  private readonly stem: { conv: Conv3dLayer; bn: BatchNormLayer };
  private readonly stages: Bottleneck[][];
  private readonly fc: LinearLayer;

  constructor(
    readonly config: ResNeXt3DConfig,
    seed: number,
    readonly arch = 'resnext3d',
  ) {
    this.parameters = new Parameters(seed);
    this.numClasses = config.numClasses;
    this.inputShape = [config.frames, config.size, config.size, 3];
    const p = this.parameters;
    const t = config.stemTemporalKernel;
    this.stem = {
      conv: createConv3d(p, 'conv1', 3, config.stemChannels, { kernel: [t, 7, 7], stride: [1, 2, 2], padding: [Math.floor(t / 2), 3, 3] }),
      bn: createBatchNorm(p, 'bn1', config.stemChannels),
    };
    let channels = config.stemChannels;
    this.stages = config.blocks.map((count, stage) => {
      const planes = config.planes[stage]!;
      const blocks: Bottleneck[] = [];
      for (let i = 0; i < count; i++) {
        const stride = stage > 0 && i === 0 ? 2 : 1;
        blocks.push(createBottleneck(p, `layer${stage + 1}.${i}`, channels, planes, config.cardinality, stride));
        channels = planes * EXPANSION;
      }
      return blocks;
    });
    this.fc = createLinear(p, 'fc', channels, config.numClasses);
  }

  /** Everything up to the global pool: [N, C] features. */
  features(clips: tf.Tensor5D, context: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => {
      let x = applyBatchNorm(this.stem.bn, applyConv3d(this.stem.conv, clips, context), context, { relu: true });
      x = maxPool3d(x, 3, 2, 1);
      for (const stage of this.stages) {
        for (const block of stage) x = applyBottleneck(block, x, context);
      }
      return tf.mean(x, [1, 2, 3]) as tf.Tensor2D;
    });
  }

  forward(clips: tf.Tensor5D, context: ForwardContext): tf.Tensor2D {
    return tf.tidy(() => applyLinear(this.fc, this.features(clips, context), context));
  }
}
