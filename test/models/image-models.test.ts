import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { readSafetensors, type StoredTensor } from '../../src/io/safetensors.js';
import { createLoss } from '../../src/losses/registry.js';
import { inferenceContext, trainingContext, applyBatchNormUpdates } from '../../src/models/context.js';
import { Parameters } from '../../src/models/parameters.js';
import { createModel } from '../../src/models/presets.js';
import { exportTorchStateDict, importTorchStateDict } from '../../src/models/torch-weights.js';
import { FIXTURES, difference } from '../helpers.js';

describe('image models of single-frame mode', () => {
  it.each([
    // ResNet-32 with option-A shortcuts on CIFAR-10: 0.46M parameters (He et al. 2016).
    ['resnet32', 10, 32, 464_154],
    // ResNet-10 (basic blocks [1,1,1,1]) with 1000 classes, as torchvision counts it.
    ['resnet10', 1000, 64, 5_418_792],
    // LeNet-5 for 28x28 MNIST digits: 6 and 16 5x5 filters, then 256-120-84-10.
    ['lenet5', 10, 28, 44_426],
  ] as const)('%s: %i classes, input %i: %i parameters, logits for T = 1 clips', (arch, classes, size, parameters) => {
    const model = createModel({ arch, numClasses: classes, size });
    expect(model.parameters.count()).toBe(parameters);
    const [t, h, w, c] = model.inputShape;
    const logits = tf.tidy(() => model.forward(tf.randomNormal([2, t, h, w, c]) as tf.Tensor5D, inferenceContext()));
    expect(logits.shape).toEqual([2, classes]);
    expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
    logits.dispose();
    model.parameters.dispose();
  });

  it('refuses multi-frame clips', () => {
    const model = createModel({ arch: 'resnet32', numClasses: 10 });
    const clips = tf.zeros([1, 2, 32, 32, 3]) as tf.Tensor5D;
    expect(() => model.forward(clips, inferenceContext())).toThrow(/single-frame clips; got 2 frames/);
    clips.dispose();
    model.parameters.dispose();
  });

  it('updates batch-norm running statistics only in training mode', () => {
    const model = createModel({ arch: 'resnet32', numClasses: 10, seed: 4 });
    const running = model.parameters.get('bn1.running_mean').variable;
    const clips = tf.randomNormal([4, 1, 32, 32, 3], 2, 1, 'float32', 5) as tf.Tensor5D;
    tf.tidy(() => model.forward(clips, inferenceContext()));
    expect(Array.from(running.dataSync()).every((v) => v === 0)).toBe(true);
    const context = trainingContext();
    tf.tidy(() => model.forward(clips, context));
    applyBatchNormUpdates(context);
    expect(Array.from(running.dataSync()).some((v) => v !== 0)).toBe(true);
    clips.dispose();
    model.parameters.dispose();
  });
});

/** The fixture script's weights_for (test/fixtures/make_resnets.py): a Weyl sequence over the flat index, phased by the name. */
function weightsFor(name: string, shape: number[]): StoredTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const phase = ([...name].reduce((sum, ch) => sum + ch.charCodeAt(0), 0) % 101) / 10;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = i * 0.6180339887498949 + phase;
    const s = 2 * (u - Math.floor(u)) - 1;
    if (name.endsWith('running_var')) data[i] = 1 + 0.5 * s * s;
    else if (name.endsWith('running_mean') || name.endsWith('bias')) data[i] = 0.1 * s;
    else if (shape.length === 1) data[i] = 1 + 0.2 * s;
    else data[i] = s * Math.sqrt(6 / (n / shape[0]!));
  }
  return { shape, data };
}

/** The fixture's 48 evenly spaced flat indices of a tensor of n values. */
function sampleIndices(n: number): number[] {
  const m = Math.min(n, 48);
  return m === 1 ? [0] : Array.from({ length: m }, (_, k) => Math.floor((k * (n - 1)) / (m - 1)));
}

const stored = (t: StoredTensor) => tf.tensor(Array.from(t.data), t.shape);

describe.each([
  { arch: 'resnet32', classes: 10 },
  { arch: 'resnet10', classes: 7 },
] as const)('$arch against PyTorch (test/fixtures/make_resnets.py)', ({ arch, classes }) => {
  it('training step: logits, cross-entropy, every parameter gradient, running statistics; then inference logits', async () => {
    const fixture = await readSafetensors(path.join(FIXTURES, `${arch}.safetensors`));
    const get = (name: string) => {
      const t = fixture.get(name);
      if (!t) throw new Error(`${arch}.safetensors has no '${name}'`);
      return t;
    };
    const model = createModel({ arch, numClasses: classes, size: 32, seed: 1 });
    const names = exportTorchStateDict(model.parameters);
    importTorchStateDict(model.parameters, new Map([...names].map(([name, t]) => [name, weightsFor(name, t.shape)])), `${arch} formula weights`);
    // NCHW images -> one-frame clips [N, 1, H, W, C].
    const clips = tf.tidy(() => tf.expandDims(tf.transpose(stored(get('input')), [0, 2, 3, 1]), 1)) as tf.Tensor5D;
    const labels = tf.tensor1d(Array.from(get('labels').data), 'int32');
    const loss = createLoss('ce', { numClasses: classes });
    const context = trainingContext();
    let logits: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(clips, context);
      logits = tf.keep(out);
      return loss(labels, out);
    }, model.parameters.trainableVariables());
    applyBatchNormUpdates(context);

    expect(difference(logits!, stored(get('logits.train'))).rel).toBeLessThan(1e-4);
    expect(Math.abs(value.dataSync()[0]! - get('loss').data[0]!)).toBeLessThan(1e-5);

    // Gradients in PyTorch's layout, by name: sum, norm and 48 entries each.
    const byVariable = new Map(model.parameters.list().map((e) => [e.variable.name, e.name]));
    const gradParams = new Parameters(0);
    for (const [variableName, grad] of Object.entries(grads))
      gradParams.add(byVariable.get(variableName)!, grad.clone(), model.parameters.get(byVariable.get(variableName)!).layout);
    const exported = exportTorchStateDict(gradParams);
    expect(exported.size).toBe(model.parameters.trainable().length);
    for (const [name, grad] of exported) {
      const [sum, norm] = get(`grad.${name}.stats`).data;
      const expected = get(`grad.${name}.samples`).data;
      const actual = sampleIndices(grad.data.length).map((i) => grad.data[i]!);
      let actualSum = 0;
      let actualSquares = 0;
      for (const g of grad.data) {
        actualSum += g;
        actualSquares += g * g;
      }
      expect(Math.abs(Math.sqrt(actualSquares) - norm!) / norm!, `${name}: norm`).toBeLessThan(1e-4);
      // A sum of thousands of float32 gradients that mostly share a sign: measured against its size.
      expect(Math.abs(actualSum - sum!) / Math.max(Math.abs(sum!), norm!), `${name}: sum`).toBeLessThan(2e-4);
      expect(actual.length, name).toBe(expected.length);
      const worst = Math.max(...actual.map((a, i) => Math.abs(a - expected[i]!)));
      expect(worst / norm!, `${name}: sampled entries`).toBeLessThan(1e-4);
    }
    for (const [name, t] of exportTorchStateDict(model.parameters)) {
      if (!name.includes('running')) continue;
      expect(difference(stored(t), stored(get(`after.${name}`))).rel, name).toBeLessThan(1e-5);
    }

    const evalLogits = tf.tidy(() => model.forward(clips, inferenceContext()));
    expect(difference(evalLogits, stored(get('logits.eval'))).rel).toBeLessThan(1e-4);
    tf.dispose([logits!, value, clips, labels, evalLogits, ...Object.values(grads)]);
    gradParams.dispose();
    model.parameters.dispose();
  });
});
