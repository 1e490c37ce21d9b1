import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, it } from 'vitest';
import { clipFromTorch } from '../../src/engine/layout.js';
import { kernelsAvailable, setKernelsEnabled } from '../../src/engine/kernels.js';
import { readSafetensors, type StoredTensor } from '../../src/io/safetensors.js';
import { applyBatchNormUpdates, trainingContext } from '../../src/models/context.js';
import { Parameters } from '../../src/models/parameters.js';
import { applyBottleneck, createBottleneck } from '../../src/models/resnext3d.js';
import { exportTorchStateDict, importTorchStateDict } from '../../src/models/torch-weights.js';
import { FIXTURES, difference } from '../helpers.js';
import { expectWithinNoise, storedFloor } from '../noise-floor.js';

// One strided bottleneck of the PyTorch reference in training mode, each result with its noise
// floor (test/fixtures/make_bottleneck.py).
const fixture = await readSafetensors(path.join(FIXTURES, 'bottleneck.safetensors'));
/** `actual` against the fixture's tensor `name` (PyTorch's layout unless `layout` converts it), within its noise floor. */
const expectLikePyTorch = (actual: tf.Tensor, name: string, layout: (t: StoredTensor) => tf.Tensor = (t) => tf.tensor(t.data, t.shape)) =>
  expectWithinNoise(
    tf.tidy(() => difference(actual, layout(fixture.get(name)!)).rel),
    storedFloor(fixture, `floor.${name}`),
    name,
  );
const withPrefix = (prefix: string) =>
  new Map([...fixture].filter(([name]) => name.startsWith(prefix)).map(([name, t]) => [`block.${name.slice(prefix.length)}`, t] as [string, StoredTensor]));

const paths = [
  { name: "egtea's kernels (fused batch norm, grouped conv kernel)", kernels: true, available: kernelsAvailable() },
  { name: 'tfjs ops only (composed batch norm, split grouped conv)', kernels: false, available: true },
];

describe.each(paths)('3D-ResNeXt bottleneck in training mode: $name', ({ kernels, available }) => {
  afterEach(() => setKernelsEnabled(true));

  it.skipIf(!available)('matches PyTorch: output, input and parameter gradients, running statistics', () => {
    setKernelsEnabled(kernels);
    const params = new Parameters(0);
    const block = createBottleneck(params, 'block', 64, 32, 32, 2);
    importTorchStateDict(params, withPrefix('param.'), 'bottleneck fixture');
    const input = tf.variable(clipFromTorch(fixture.get('input')!));
    const dy = clipFromTorch(fixture.get('dy')!);
    const context = trainingContext();
    let output: tf.Tensor | null = null;
    const { grads } = tf.variableGrads(() => {
      const y = applyBottleneck(block, input as tf.Tensor5D, context);
      output = tf.keep(y);
      return tf.sum(tf.mul(y, dy)) as tf.Scalar;
    }, [input, ...params.trainableVariables()]);
    applyBatchNormUpdates(context);

    expectLikePyTorch(output!, 'output', clipFromTorch);
    expectLikePyTorch(grads[input.name]!, 'dx', clipFromTorch);
    // Compare parameter gradients in PyTorch's layout, by name.
    const byVariable = new Map(params.list().map((e) => [e.variable.name, e.name]));
    const gradParams = new Parameters(0);
    for (const [variableName, grad] of Object.entries(grads)) {
      const name = byVariable.get(variableName);
      if (name) gradParams.add(name, grad.clone(), params.get(name).layout);
    }
    const exported = exportTorchStateDict(gradParams);
    for (const [name, grad] of exported) expectLikePyTorch(tf.tensor(grad.data, grad.shape), `grad.${name.slice('block.'.length)}`);
    for (const [name, stored] of exportTorchStateDict(params)) {
      if (name.includes('running')) expectLikePyTorch(tf.tensor(stored.data, stored.shape), `after.${name.slice('block.'.length)}`);
    }
    tf.dispose([output!, input, dy, ...Object.values(grads)]);
    gradParams.dispose();
    params.dispose();
  });
});
