import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { clipFromTorch } from '../../../src/engine/layout.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { countingContext, inferenceContext } from '../../../src/models/context.js';
import { createModel } from '../../../src/models/presets.js';
import { ResNeXt3D, resnext3dConfig } from '../../../src/models/resnext3d.js';
import { exportTorchStateDict, importTorchStateDict } from '../../../src/models/torch-weights.js';
import { difference } from '../../helpers.js';
import { exportReferenceCase, referenceAvailable } from '../../reference.js';

describe('3D-ResNeXt', () => {
  it('has the parameter counts of Hara et al.: 47,560,147 for 19 classes, 48,340,816 for 400', () => {
    for (const [classes, expected] of [
      [19, 47_560_147],
      [400, 48_340_816],
    ] as const) {
      const model = new ResNeXt3D(resnext3dConfig(101, classes), 0);
      expect(model.parameters.count()).toBe(expected);
      model.parameters.dispose();
    }
  });

  it('names its parameters as the PyTorch state dict does', () => {
    const model = new ResNeXt3D(resnext3dConfig(50, 19), 0);
    const names = model.parameters.list().map((e) => e.name);
    expect(names).toContain('conv1.weight');
    expect(names).toContain('layer1.0.downsample.0.weight');
    expect(names).toContain('layer4.2.bn3.running_var');
    expect(names).not.toContain('layer1.1.downsample.0.weight');
    expect(names.at(-1)).toBe('fc.bias');
    model.parameters.dispose();
  });

  it('counts multiply-accumulates as the reference does, on a small clip', () => {
    const model = createModel({ arch: 'resnext3d-tiny', numClasses: 5, frames: 4, size: 32 });
    const context = countingContext();
    tf.tidy(() => model.forward(tf.zeros([1, 4, 32, 32, 3]) as tf.Tensor5D, context));
    // Worked by hand from the tiny layout (blocks 1,1,1,1, cardinality 4, planes 32..256, stem 16):
    // each convolution costs output positions x out channels x in channels per group x taps.
    const conv = (positions: number, out: number, groupIn: number, taps: number) => positions * out * groupIn * taps;
    const stem = conv(4 * 16 * 16, 16, 3, 3 * 7 * 7); // stride (1,2,2); then the 3x3x3 max pool, stride 2: 2 x 8 x 8
    const layer1 = conv(128, 4, 16, 1) + conv(128, 4, 1, 27) + conv(128, 64, 4, 1) + conv(128, 64, 16, 1);
    // Stages 2-4 halve every dimension (T stays >= 1): 2x8x8 -> 1x4x4 -> 1x2x2 -> 1x1x1.
    const layer2 = conv(128, 8, 64, 1) + conv(16, 8, 2, 27) + conv(16, 128, 8, 1) + conv(16, 128, 64, 1);
    const layer3 = conv(16, 16, 128, 1) + conv(4, 16, 4, 27) + conv(4, 256, 16, 1) + conv(4, 256, 128, 1);
    const layer4 = conv(4, 32, 256, 1) + conv(1, 32, 8, 27) + conv(1, 512, 32, 1) + conv(1, 512, 256, 1);
    const fc = 512 * 5;
    expect(context.macs.count).toBe(stem + layer1 + layer2 + layer3 + layer4 + fc);
    model.parameters.dispose();
  });

  it.skipIf(!referenceAvailable())('equals the PyTorch reference from identical weights (layers 1,1,1,1; 4x32x32 clip; eval mode)', async () => {
    const dir = exportReferenceCase(['--layers', '1,1,1,1', '--T', '4', '--S', '32', '--classes', '5', '--seed', '3']);
    const weights = await readSafetensors(path.join(dir, 'weights.safetensors'));
    const reference = await readSafetensors(path.join(dir, 'case.safetensors'));
    const model = new ResNeXt3D({ ...resnext3dConfig(101, 5, 4, 32), blocks: [1, 1, 1, 1] }, 0);
    const report = importTorchStateDict(model.parameters, weights, 'reference weights');
    expect(report.unused).toEqual([]);
    const logits = tf.tidy(() => model.forward(clipFromTorch(reference.get('input')!), inferenceContext()));
    const expected = tf.tensor(reference.get('logits')!.data, reference.get('logits')!.shape);
    expect(difference(logits, expected).rel).toBeLessThan(1e-4);
    // And back out: the exported state dict is the one that came in.
    const exported = exportTorchStateDict(model.parameters);
    const name = 'layer2.0.conv2.weight';
    expect(Array.from(exported.get(name)!.data.slice(0, 50))).toEqual(Array.from(weights.get(name)!.data.slice(0, 50)));
    tf.dispose([logits, expected]);
    model.parameters.dispose();
  });
});
