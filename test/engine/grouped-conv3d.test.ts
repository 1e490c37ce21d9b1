import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { conv3d } from '../../src/engine/conv3d.js';
import type { Triple } from '../../src/engine/conv-size.js';
import { bindingDevice, type GroupedConvImpl } from '../../src/engine/dispatch.js';
import { kernelsAvailable } from '../../src/engine/kernels.js';
import { clipFromTorch, conv3dFilterFromTorch } from '../../src/engine/layout.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { FIXTURES, difference } from '../helpers.js';
import { expectWithinNoise, storedFloor } from '../noise-floor.js';

// Values from PyTorch's F.conv3d(groups=...), each with its noise floor, written by
// test/fixtures/make_grouped_conv3d.py.
const fixture = await readSafetensors(path.join(FIXTURES, 'grouped_conv3d.safetensors'));
const get = (name: string) => {
  const stored = fixture.get(name);
  if (!stored) throw new Error(`fixture lacks ${name}`);
  return stored;
};

const impls: { impl: GroupedConvImpl; available: boolean }[] = [
  { impl: 'tensorflow-split-per-group', available: true },
  { impl: 'egtea-kernel', available: kernelsAvailable() },
  // TensorFlow has a grouped Conv3D on GPU (cuDNN) only.
  { impl: 'tensorflow-conv3d', available: bindingDevice() === 'gpu' },
];

describe.each(impls)('grouped conv3d ($impl)', ({ impl, available }) => {
  it.skipIf(!available).each(['same', 'strided', 'stem'])('matches PyTorch forward and backward: %s', (name) => {
    tf.tidy(() => {
      const config = Array.from(get(`${name}.config`).data);
      const [groups, ...rest] = config as [number, ...number[]];
      const stride = rest.slice(0, 3) as Triple;
      const padding = rest.slice(3, 6) as Triple;
      const x = clipFromTorch(get(`${name}.input`));
      const w = conv3dFilterFromTorch(get(`${name}.weight`));
      const kernel = w.shape.slice(0, 3) as Triple;
      const spec = { kernel, stride, padding, groups };
      const y = conv3d(x, w, spec, impl);
      const expected = clipFromTorch(get(`${name}.output`));
      expect(y.shape).toEqual(expected.shape);
      const expectLikePyTorch = (actual: tf.Tensor, result: string, reference: tf.Tensor) =>
        expectWithinNoise(difference(actual, reference).rel, storedFloor(fixture, `${name}.floor.${result}`), `${name}.${result}`);
      expectLikePyTorch(y, 'output', expected);

      const dy = clipFromTorch(get(`${name}.dy`));
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv3d(a as tf.Tensor5D, b as tf.Tensor5D, spec, impl))([x, w], dy);
      expectLikePyTorch(dx!, 'dx', clipFromTorch(get(`${name}.dx`)));
      expectLikePyTorch(dw!, 'dw', conv3dFilterFromTorch(get(`${name}.dw`)));
    });
  });
});

describe('grouped conv3d input checks', () => {
  it('refuses channels that do not divide into the groups', () => {
    const x = tf.zeros([1, 2, 2, 2, 6]) as tf.Tensor5D;
    const w = tf.zeros([1, 1, 1, 4, 8]) as tf.Tensor5D;
    expect(() => conv3d(x, w, { kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0], groups: 2 })).toThrow(/do not divide/);
    tf.dispose([x, w]);
  });
});
