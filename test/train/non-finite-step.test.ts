import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { GraphStep } from '../../src/engine/graph/graph-step.js';
import { createLoss } from '../../src/losses/registry.js';
import type { LossFunction } from '../../src/losses/loss-function.js';
import { LeNet5 } from '../../src/models/lenet5.js';
import { Sgd } from '../../src/train/sgd.js';
import { NonFiniteStepError, trainStep } from '../../src/train/step.js';

/** Runs LeNet-5 steps until one throws; `plant` spoils the run before step `at` (0-based). */
function runUntilThrown(
  graph: GraphStep | undefined,
  at: number,
  plant: (model: LeNet5, optimizer: Sgd) => void,
  lossFunction?: LossFunction,
): { error: unknown; steps: number } {
  const model = new LeNet5(4, 3);
  const loss = createLoss('ce', { numClasses: 4 });
  const applied = lossFunction ?? loss;
  const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.05, momentum: 0.9, weightDecay: 0 });
  const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
  let steps = 0;
  let error: unknown = null;
  try {
    for (let step = 0; step < 6; step++) {
      if (step === at) plant(model, optimizer);
      const clips = tf.randomNormal([4, 1, 28, 28, 1], 0, 1, 'float32', 7 + step) as tf.Tensor5D;
      try {
        trainStep(model, optimizer, applied, clips, labels, graph);
        steps += 1;
      } finally {
        clips.dispose();
      }
    }
  } catch (caught) {
    error = caught;
  } finally {
    labels.dispose();
    optimizer.dispose();
    loss.dispose();
    model.parameters.dispose();
  }
  return { error, steps };
}

function setFirstValue(model: LeNet5, name: string, value: number): void {
  const variable = model.parameters.get(name).variable;
  const values = Float32Array.from(variable.dataSync() as Float32Array);
  values[0] = value;
  variable.assign(tf.tensor(values, variable.shape));
}

describe.each([
  ['eagerly', () => undefined],
  ['as a graph', () => new GraphStep()],
])('a training step %s', (_, makeGraph) => {
  // Which check fires first depends on how the kernels carry NaN: a fused conv + relu turns it
  // into 0 and max pooling may pass over it, so the loss can stay finite while a gradient or the
  // parameter's own updated value (NaN minus anything) does not.
  it('stops at a NaN parameter: the loss it spoils, a gradient it reaches, or its updated value', () => {
    const graph = makeGraph();
    const { error, steps } = runUntilThrown(graph, 3, (model) => setFirstValue(model, 'conv1.weight', Number.NaN));
    graph?.dispose();
    expect(steps).toBe(3);
    expect(error).toBeInstanceOf(NonFiniteStepError);
    expect((error as NonFiniteStepError).what).toMatch(
      /^(the loss is NaN|the gradient of '[a-z0-9.]+' (\(and \d+ more\) )?holds NaN or Inf|the updated value of 'conv1\.weight' holds NaN or Inf)$/,
    );
  });

  it('names the parameter whose value the update made infinite while loss and gradients stayed finite', () => {
    const graph = makeGraph();
    const { error, steps } = runUntilThrown(graph, 4, (_model, optimizer) => (optimizer.learningRate = Number.POSITIVE_INFINITY));
    graph?.dispose();
    expect(steps).toBe(4);
    expect((error as NonFiniteStepError).what).toMatch(/^the updated value of '[a-z0-9.]+(weight|bias)'( \(and \d+ more\))? holds NaN or Inf$/);
  });

  it('names the first parameter whose gradient is not finite while the loss is', () => {
    const graph = makeGraph();
    // A loss whose value is 0 and whose gradient is Inf: only the gradient check can see it.
    const infiniteGradient: LossFunction = (_labels, logits) =>
      tf.customGrad((...args) => {
        const z = args[0] as tf.Tensor;
        return { value: tf.sum(tf.mul(z, 0)), gradFunc: (dy: tf.Tensor) => tf.mul(tf.fill(z.shape, Number.POSITIVE_INFINITY), dy) };
      })(logits) as tf.Scalar;
    const { error, steps } = runUntilThrown(graph, 0, () => {}, infiniteGradient);
    graph?.dispose();
    expect(steps).toBe(0);
    expect((error as NonFiniteStepError).what).toBe("the gradient of 'conv1.weight' (and 9 more) holds NaN or Inf");
  });
});
