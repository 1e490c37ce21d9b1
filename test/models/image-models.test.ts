import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { readSafetensors, type StoredTensor } from '../../src/io/safetensors.js';
import { createLoss } from '../../src/losses/registry.js';
import { inferenceContext, trainingContext, applyBatchNormUpdates } from '../../src/models/context.js';
import { Parameters } from '../../src/models/parameters.js';
import { createModel } from '../../src/models/presets.js';
import { exportTorchStateDict, importTorchStateDict } from '../../src/models/torch-weights.js';
import { FIXTURES, difference } from '../helpers.js';
import { expectWithinNoise, storedFloor } from '../noise-floor.js';

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

/** One training step as the fixture holds it: every gradient by its sum, norm and sampled entries (PyTorch's layout and names). */
interface StepResults {
  logitsTrain: ArrayLike<number>;
  loss: number;
  grads: Map<string, { sum: number; norm: number; samples: ArrayLike<number> }>;
  after: Map<string, ArrayLike<number>>;
  logitsEval: ArrayLike<number>;
}

function fixtureStep(fixture: Map<string, StoredTensor>, arch: string): StepResults {
  const get = (name: string) => {
    const t = fixture.get(name);
    if (!t) throw new Error(`${arch}.safetensors has no '${name}'`);
    return t.data;
  };
  const names = (prefix: string, suffix = '') =>
    [...fixture.keys()].filter((k) => k.startsWith(prefix) && k.endsWith(suffix)).map((k) => k.slice(prefix.length, k.length - suffix.length));
  return {
    logitsTrain: get('logits.train'),
    loss: get('loss')[0]!,
    grads: new Map(
      names('grad.', '.stats').map((n) => [n, { sum: get(`grad.${n}.stats`)[0]!, norm: get(`grad.${n}.stats`)[1]!, samples: get(`grad.${n}.samples`) }]),
    ),
    after: new Map(names('after.').map((n) => [n, get(`after.${n}`)])),
    logitsEval: get('logits.eval'),
  };
}

/** egtea's step from the fixture's formula weights and batch. */
function egteaStep(arch: 'resnet32' | 'resnet10', classes: number, fixture: Map<string, StoredTensor>): StepResults {
  const model = createModel({ arch, numClasses: classes, size: 32, seed: 1 });
  const names = exportTorchStateDict(model.parameters);
  importTorchStateDict(model.parameters, new Map([...names].map(([name, t]) => [name, weightsFor(name, t.shape)])), `${arch} formula weights`);
  // NCHW images -> one-frame clips [N, 1, H, W, C].
  const clips = tf.tidy(() => tf.expandDims(tf.transpose(stored(fixture.get('input')!), [0, 2, 3, 1]), 1) as tf.Tensor5D);
  const labels = tf.tensor1d(Array.from(fixture.get('labels')!.data), 'int32');
  const loss = createLoss('ce', { numClasses: classes });
  const context = trainingContext();
  let logits: tf.Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(clips, context);
    logits = tf.keep(out);
    return loss(labels, out);
  }, model.parameters.trainableVariables());
  applyBatchNormUpdates(context);
  const byVariable = new Map(model.parameters.list().map((e) => [e.variable.name, e.name]));
  const gradParams = new Parameters(0);
  for (const [variableName, grad] of Object.entries(grads))
    gradParams.add(byVariable.get(variableName)!, grad.clone(), model.parameters.get(byVariable.get(variableName)!).layout);
  const results: StepResults = {
    logitsTrain: logits!.dataSync(),
    loss: value.dataSync()[0]!,
    grads: new Map(
      [...exportTorchStateDict(gradParams)].map(([name, grad]) => {
        let sum = 0;
        let squares = 0;
        for (const g of grad.data) {
          sum += g;
          squares += g * g;
        }
        return [name, { sum, norm: Math.sqrt(squares), samples: sampleIndices(grad.data.length).map((i) => grad.data[i]!) }];
      }),
    ),
    after: new Map([...exportTorchStateDict(model.parameters)].filter(([name]) => name.includes('running')).map(([name, t]) => [name, t.data])),
    logitsEval: tf.tidy(() => model.forward(clips, inferenceContext()).dataSync()),
  };
  tf.dispose([logits!, value, clips, labels, ...Object.values(grads)]);
  loss.dispose();
  gradParams.dispose();
  model.parameters.dispose();
  return results;
}

/** The test's checks of `actual` against `expected`, by name, each with its floor in the fixture (and the index there). */
function compareSteps(actual: StepResults, expected: StepResults): Map<string, { diff: number; floor: string; check: number }> {
  const relative = (a: ArrayLike<number>, e: ArrayLike<number>) => tf.tidy(() => difference(tf.tensor(Array.from(a)), tf.tensor(Array.from(e))).rel);
  const checks = new Map<string, { diff: number; floor: string; check: number }>();
  checks.set('logits.train', { diff: relative(actual.logitsTrain, expected.logitsTrain), floor: 'floor.logits.train', check: 0 });
  checks.set('loss', { diff: Math.abs(actual.loss - expected.loss) / Math.abs(expected.loss), floor: 'floor.loss', check: 0 });
  expect([...actual.grads.keys()].sort()).toEqual([...expected.grads.keys()].sort());
  for (const [name, e] of expected.grads) {
    const a = actual.grads.get(name)!;
    expect(a.samples.length, name).toBe(e.samples.length);
    const worst = Math.max(...Array.from(a.samples, (v, i) => Math.abs(v - e.samples[i]!)));
    // The order of grad_floors in test/fixtures/noise_floor.py. A sum of thousands of float32
    // gradients that mostly share a sign is measured against its size.
    checks.set(`${name}: norm`, { diff: Math.abs(a.norm - e.norm) / e.norm, floor: `floor.grad.${name}`, check: 0 });
    checks.set(`${name}: sum`, { diff: Math.abs(a.sum - e.sum) / Math.max(Math.abs(e.sum), e.norm), floor: `floor.grad.${name}`, check: 1 });
    checks.set(`${name}: sampled entries`, { diff: worst / e.norm, floor: `floor.grad.${name}`, check: 2 });
  }
  expect([...actual.after.keys()].sort()).toEqual([...expected.after.keys()].sort());
  for (const [name, e] of expected.after) checks.set(`after.${name}`, { diff: relative(actual.after.get(name)!, e), floor: `floor.after.${name}`, check: 0 });
  checks.set('logits.eval', { diff: relative(actual.logitsEval, expected.logitsEval), floor: 'floor.logits.eval', check: 0 });
  return checks;
}

describe.each([
  { arch: 'resnet32', classes: 10 },
  { arch: 'resnet10', classes: 7 },
] as const)('$arch against PyTorch, each result within its noise floor (test/fixtures/make_resnets.py)', ({ arch, classes }) => {
  it('training step: logits, cross-entropy, every parameter gradient, running statistics; then inference logits', async () => {
    const fixture = await readSafetensors(path.join(FIXTURES, `${arch}.safetensors`));
    const ours = egteaStep(arch, classes, fixture);
    for (const [what, { diff, floor, check }] of compareSteps(ours, fixtureStep(fixture, arch)))
      expectWithinNoise(diff, storedFloor(fixture, floor, check), what);
  });
});
