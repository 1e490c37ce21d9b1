// Trains a few LeNet-5 cells for some steps, alone or packed, and prints every cell's parameters
// as JSON on stdout (run by test/e2e/pack/packed-step.test.ts in processes of their own, so the
// thread count TensorFlow starts with can differ).
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/engine/backend.js';
import { GraphStep } from '../../src/engine/graph/graph-step.js';
import { createLoss, type ClassLoss, type LossName } from '../../src/losses/registry.js';
import { DifficultyTracker } from '../../src/losses/difficulty-tracker.js';
import { LeNet5 } from '../../src/models/lenet5.js';
import { packedTrainStep } from '../../src/pack/packed-step.js';
import { Sgd } from '../../src/train/sgd.js';
import { accumulatedTrainStep } from '../../src/train/step.js';
import { SeededRandom } from '../../src/util/random.js';

const CELLS: { seed: number; loss: LossName }[] = [
  { seed: 1, loss: 'ce' },
  { seed: 2, loss: 'cdb' },
  { seed: 3, loss: 'ldam' },
];
const STEPS = 6;
const BATCH = 32;
const COUNTS = [40, 160];

function cell(index: number) {
  const { seed, loss: name } = CELLS[index]!;
  const model = new LeNet5(2, seed, 3, 28, 'he-normal');
  const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  const tracker = name === 'cdb' ? new DifficultyTracker(2, { tau: 'dynamic' }) : null;
  // CDB trains with the weights of a validation that found the minority hard.
  tracker?.update([0.3, 0.95], 1);
  const loss: ClassLoss = createLoss(name, { numClasses: 2, counts: COUNTS, ...(tracker ? { tracker } : {}) });
  const random = new SeededRandom(seed).fork('images');
  const batches = Array.from({ length: STEPS }, () => {
    const labels = Array.from({ length: BATCH }, () => (random.bernoulli(0.2) ? 0 : 1));
    const pixels = Float32Array.from({ length: BATCH * 28 * 28 * 3 }, () => random.uniform(-1, 1));
    return { clips: tf.tensor5d(pixels, [BATCH, 1, 28, 28, 3]), labels: tf.tensor1d(labels, 'int32') };
  });
  return { model, optimizer, loss, batches };
}

function parameters(model: LeNet5): Record<string, number[]> {
  return Object.fromEntries(model.parameters.list().map((p) => [p.name, Array.from(p.variable.dataSync())]));
}

await selectBackend();
const [mode, which] = process.argv.slice(2);
if (mode === 'alone') {
  const c = cell(Number(which));
  const graph = new GraphStep();
  for (const batch of c.batches) {
    c.loss.beginBatch({ epoch: 1, batch: 0 });
    accumulatedTrainStep(c.model, c.optimizer, c.loss, [batch], graph);
  }
  process.stdout.write(JSON.stringify([parameters(c.model)]));
} else if (mode === 'packed') {
  const cells = CELLS.map((_, i) => cell(i));
  const graph = new GraphStep();
  for (let step = 0; step < STEPS; step++) {
    for (const c of cells) c.loss.beginBatch({ epoch: 1, batch: step });
    const outcomes = packedTrainStep(
      cells,
      cells.map((c) => [c.batches[step]!]),
      graph,
    );
    if (outcomes.some((o) => !('loss' in o))) throw new Error(`non-finite step: ${JSON.stringify(outcomes)}`);
  }
  process.stdout.write(JSON.stringify(cells.map((c) => parameters(c.model))));
} else {
  throw new Error('usage: packed-cells.ts alone <cell> | packed');
}
