import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createLoss } from '../../src/losses/registry.js';
import { createModel } from '../../src/models/presets.js';
import { Sgd } from '../../src/train/sgd.js';
import { accumulatedTrainStep, trainStep } from '../../src/train/step.js';
import { difference } from '../helpers.js';

describe('gradient accumulation', () => {
  it('two micro-batches of 4 make the same update as one batch of 8 (no batch norm: LeNet-5)', () => {
    const clips = tf.randomNormal([8, 1, 28, 28, 1], 0, 1, 'float32', 21) as tf.Tensor5D;
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const loss = createLoss('ce', { numClasses: 10 });
    const whole = createModel({ arch: 'lenet5', numClasses: 10, seed: 3 });
    const parts = createModel({ arch: 'lenet5', numClasses: 10, seed: 3 });
    const sgdWhole = new Sgd(whole.parameters.trainable(), { learningRate: 0.1, momentum: 0, weightDecay: 0 });
    const sgdParts = new Sgd(parts.parameters.trainable(), { learningRate: 0.1, momentum: 0, weightDecay: 0 });
    trainStep(whole, sgdWhole, loss, clips, labels);
    const halves = [0, 4].map((start) => ({
      clips: tf.slice(clips, [start, 0, 0, 0, 0], [4, 1, 28, 28, 1]) as tf.Tensor5D,
      labels: tf.slice(labels, [start], [4]) as tf.Tensor1D,
    }));
    accumulatedTrainStep(parts, sgdParts, loss, halves);
    for (const entry of whole.parameters.list()) {
      expect(difference(parts.parameters.get(entry.name).variable, entry.variable).abs, entry.name).toBeLessThan(1e-6);
    }
    // And the step moved the weights at all.
    const fresh = createModel({ arch: 'lenet5', numClasses: 10, seed: 3 });
    expect(difference(fresh.parameters.get('fc3.weight').variable, whole.parameters.get('fc3.weight').variable).abs).toBeGreaterThan(1e-4);
    halves.forEach((h) => tf.dispose([h.clips, h.labels]));
    tf.dispose([clips, labels]);
    [whole, parts, fresh].forEach((m) => m.parameters.dispose());
    sgdWhole.dispose();
    sgdParts.dispose();
  });
});
