import type { Head } from './head.js';
import { LeNet5, type Lenet5Initializer } from './lenet5.js';
import { ResNet2D, resnet10Config, resnet32Config } from './resnet2d.js';
import type { ClipModel } from './model.js';
import { ResNeXt3D, resnext3dConfig, tinyResNeXt3dConfig } from './resnext3d.js';

// Each family's variants live with it (resnext3d.ts, resnet2d.ts); this file maps names to them.
export { tinyResNeXt3dConfig };

/** Architectures by name, for the command line and pipelines. */
export const ARCHITECTURES = ['resnext3d-50', 'resnext3d-101', 'resnext3d-152', 'resnext3d-tiny', 'lenet5', 'resnet32', 'resnet10'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** The architectures whose last layer may be a cosine head. */
export const COSINE_HEAD_ARCHS: readonly string[] = ['lenet5', 'resnet32', 'resnet10'];

export interface ModelRequest {
  arch: Architecture | string;
  numClasses: number;
  frames?: number;
  size?: number;
  channels?: number;
  seed?: number;
  /** LeNet-5 only: how its parameters start (default 'torch-default'). */
  initializer?: Lenet5Initializer;
  /** The last layer (default 'linear'; 'cosine' for LeNet-5 and the 2D ResNets only: see head.ts). */
  head?: Head;
}

export function createModel(request: ModelRequest): ClipModel {
  const seed = request.seed ?? 0;
  const head = request.head ?? 'linear';
  if (head !== 'linear' && !COSINE_HEAD_ARCHS.includes(request.arch))
    throw new Error(`a ${head} head is implemented for ${COSINE_HEAD_ARCHS.join(', ')} only, not ${request.arch}`);
  switch (request.arch) {
    case 'resnext3d-50':
    case 'resnext3d-101':
    case 'resnext3d-152': {
      const depth = Number(request.arch.split('-')[1]);
      return new ResNeXt3D(resnext3dConfig(depth, request.numClasses, request.frames, request.size), seed, request.arch);
    }
    case 'resnext3d-tiny':
      return new ResNeXt3D(tinyResNeXt3dConfig(request.numClasses, request.frames, request.size), seed, request.arch);
    case 'lenet5':
      return new LeNet5(request.numClasses, seed, request.channels ?? 1, request.size ?? 28, request.initializer, head);
    case 'resnet32':
      return new ResNet2D(resnet32Config(request.numClasses, request.size, request.channels), seed, request.arch, head);
    case 'resnet10':
      return new ResNet2D(resnet10Config(request.numClasses, request.size, request.channels), seed, request.arch, head);
    default:
      throw new Error(`unknown architecture '${request.arch}'; choose one of: ${ARCHITECTURES.join(', ')}`);
  }
}
