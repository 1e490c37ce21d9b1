import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { softmaxCrossEntropy } from '../../src/engine/softmax-cross-entropy.js';
import { readSafetensors, type StoredTensor } from '../../src/io/safetensors.js';
import { trainingContext } from '../../src/models/context.js';
import { LeNet5 } from '../../src/models/lenet5.js';
import { Parameters } from '../../src/models/parameters.js';
import { exportTorchStateDict, importTorchStateDict } from '../../src/models/torch-weights.js';
import { FIXTURES, difference } from '../helpers.js';
import { expectWithinNoise, storedFloor } from '../noise-floor.js';

// The PyTorch LeNet-5 of the engine benchmark with seeded weights and one batch, each result with
// its noise floor (test/fixtures/make_lenet5.py).
const fixture = await readSafetensors(path.join(FIXTURES, 'lenet5.safetensors'));
const withPrefix = (prefix: string) =>
  new Map([...fixture].filter(([name]) => name.startsWith(prefix)).map(([name, t]) => [name.slice(prefix.length), t] as [string, StoredTensor]));
const stored = (name: string) => tf.tensor(fixture.get(name)!.data, fixture.get(name)!.shape);
const expectLikePyTorch = (actual: tf.Tensor, name: string) =>
  expectWithinNoise(
    tf.tidy(() => difference(actual, stored(name)).rel),
    storedFloor(fixture, `floor.${name}`),
    name,
  );

describe('LeNet-5 against PyTorch', () => {
  it('gives PyTorch logits, loss and every parameter gradient from PyTorch weights (fc1 reads a channels-last flatten)', () => {
    const model = new LeNet5(10, 0);
    importTorchStateDict(model.parameters, withPrefix('param.'), 'lenet5 fixture');
    const images = stored('input');
    const clips = tf.reshape(images, [4, 1, 28, 28, 1]) as tf.Tensor5D;
    const labels = tf.tensor1d(Array.from(fixture.get('labels')!.data), 'int32');
    let logits: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const y = model.forward(clips, trainingContext());
      logits = tf.keep(y);
      return tf.mean(softmaxCrossEntropy(labels, y)) as tf.Scalar;
    }, model.parameters.trainableVariables());

    expectLikePyTorch(logits!, 'logits');
    expectLikePyTorch(value, 'loss');
    const byVariable = new Map(model.parameters.list().map((e) => [e.variable.name, e.name]));
    const gradParams = new Parameters(0);
    for (const [variableName, grad] of Object.entries(grads)) {
      const name = byVariable.get(variableName)!;
      gradParams.add(name, grad.clone(), model.parameters.get(name).layout);
    }
    const exported = exportTorchStateDict(gradParams);
    expect([...exported.keys()].sort()).toEqual([...withPrefix('grad.').keys()].sort());
    for (const [name, grad] of exported) expectLikePyTorch(tf.tensor(grad.data, grad.shape), `grad.${name}`);
    tf.dispose([images, clips, labels, logits!, value, ...Object.values(grads)]);
    gradParams.dispose();
    model.parameters.dispose();
  });

  it('exports exactly the PyTorch tensors it imported', () => {
    const model = new LeNet5(10, 0);
    const original = withPrefix('param.');
    importTorchStateDict(model.parameters, original, 'lenet5 fixture');
    for (const [name, tensor] of exportTorchStateDict(model.parameters)) {
      expect(tensor.shape, name).toEqual(original.get(name)!.shape);
      expect(Array.from(tensor.data), name).toEqual(Array.from(original.get(name)!.data));
    }
    model.parameters.dispose();
  });
});
