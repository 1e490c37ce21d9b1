import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { GraphStep } from '../../src/engine/graph/graph-step.js';
import { createLoss } from '../../src/losses/registry.js';
import { LeNet5 } from '../../src/models/lenet5.js';
import { Sgd } from '../../src/train/sgd.js';
import { accumulatedTrainStep } from '../../src/train/step.js';

/** LDAM-DRW's losses over epochs 1..6 (re-weighting from epoch 5; the graph is trusted by then), each epoch one step on the same batch. */
function losses(graph: GraphStep | undefined): number[] {
  const model = new LeNet5(2, 7, 3, 28);
  const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.01, momentum: 0.9, weightDecay: 0 });
  const loss = createLoss('ldam', { numClasses: 2, counts: [10, 990], drwEpoch: 4 });
  const clips = tf.randomUniform([8, 1, 28, 28, 3], -1, 1, 'float32', 3) as tf.Tensor5D;
  const labels = tf.tensor1d([0, 1, 1, 1, 0, 1, 1, 1], 'int32');
  const values: number[] = [];
  for (let epoch = 1; epoch <= 6; epoch++) {
    loss.beginBatch({ epoch, batch: 0 });
    values.push(accumulatedTrainStep(model, optimizer, loss, [{ clips, labels }], graph));
  }
  tf.dispose([clips, labels]);
  loss.dispose();
  optimizer.dispose();
  model.parameters.dispose();
  graph?.dispose();
  return values;
}

describe('LDAM-DRW in a graph step', () => {
  it('re-weights from its DRW epoch on, as the eager step does', () => {
    const eager = losses(undefined);
    const graph = losses(new GraphStep());
    // The re-weighted loss of the minority-heavy batch differs from the plain one by far more than rounding.
    expect(Math.abs(eager[4]! - eager[3]!)).toBeGreaterThan(0.1);
    graph.forEach((value, i) => expect(value).toBeCloseTo(eager[i]!, 4));
  });
});
