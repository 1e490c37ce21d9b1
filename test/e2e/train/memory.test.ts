import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createLoss } from '../../../src/losses/registry.js';
import { DifficultyTracker } from '../../../src/losses/difficulty-tracker.js';
import { createModel } from '../../../src/models/presets.js';
import { Sgd } from '../../../src/train/sgd.js';
import { accumulatedTrainStep, trainStep } from '../../../src/train/step.js';

describe('tensor memory across training', () => {
  it('stays flat over 100 steps and 10 weight updates (tiny 3D-ResNeXt, CDB-CE, momentum SGD)', () => {
    const model = createModel({ arch: 'resnext3d-tiny', numClasses: 3, frames: 2, size: 16, seed: 1 });
    const tracker = new DifficultyTracker(3, { tau: 'dynamic' });
    const loss = createLoss('cdb', { numClasses: 3, tracker });
    const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4 });
    const clips = tf.randomNormal([2, 2, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor5D;
    const labels = tf.tensor1d([0, 2], 'int32');
    const counts: number[] = [];
    const losses: number[] = [];
    for (let step = 1; step <= 100; step++) {
      losses.push(trainStep(model, optimizer, loss, clips, labels));
      if (step % 10 === 0) tracker.update([0.2, 0.5, step / 100], step / 10);
      counts.push(tf.memory().numTensors);
    }
    // The optimizer makes its momentum slots on the first step; from then on nothing grows.
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(losses.every(Number.isFinite)).toBe(true);
    // It learns the two clips.
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    tf.dispose([clips, labels]);
    optimizer.dispose();
    loss.dispose();
    tracker.dispose();
    model.parameters.dispose();
  });

  it('gradient accumulation over micro-batches leaks nothing either', () => {
    const model = createModel({ arch: 'lenet5', numClasses: 2, seed: 2 });
    const loss = createLoss('ce', { numClasses: 2 });
    const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.01, momentum: 0.9, weightDecay: 0 });
    const micro = [0, 1].map((i) => ({
      clips: tf.randomNormal([4, 1, 28, 28, 1], 0, 1, 'float32', i) as tf.Tensor5D,
      labels: tf.tensor1d([0, 1, 0, 1], 'int32'),
    }));
    const counts: number[] = [];
    for (let step = 0; step < 20; step++) {
      accumulatedTrainStep(model, optimizer, loss, micro);
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    micro.forEach((m) => tf.dispose([m.clips, m.labels]));
    optimizer.dispose();
    model.parameters.dispose();
  });
});
