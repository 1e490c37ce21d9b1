import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Parameters } from '../../src/models/parameters.js';
import { Sgd } from '../../src/train/sgd.js';

describe('Sgd (torch.optim.SGD semantics)', () => {
  it('applies weight decay, then momentum (buffer = gradient on the first step), then the step', () => {
    const params = new Parameters(0);
    const p = params.add('w', tf.tensor1d([1, -2]), 'vector');
    const sgd = new Sgd(params.trainable(), { learningRate: 0.1, momentum: 0.9, weightDecay: 0.1 });
    const g = tf.tensor1d([2, 0.5]);
    sgd.applyGradients({ [p.name]: g });
    // d = g + 0.1 p = [2.1, 0.3]; buf = d; p = p - 0.1 buf
    expect(Array.from(p.dataSync())).toEqual([expect.closeTo(0.79, 6), expect.closeTo(-2.03, 6)]);
    sgd.applyGradients({ [p.name]: g });
    // d = [2 + 0.079, 0.5 - 0.203]; buf = 0.9 [2.1, 0.3] + d = [3.969, 0.567]; p -= 0.1 buf
    expect(Array.from(p.dataSync())).toEqual([expect.closeTo(0.3931, 6), expect.closeTo(-2.0867, 6)]);
    tf.dispose(g);
    sgd.dispose();
    params.dispose();
  });

  it('restores momentum buffers by parameter name and refuses a wrong shape or name', () => {
    const params = new Parameters(0);
    const p = params.add('w', tf.tensor1d([0, 0]), 'vector');
    const sgd = new Sgd(params.trainable(), { learningRate: 1, momentum: 0.5, weightDecay: 0 });
    const saved = tf.tensor1d([2, 4]);
    sgd.restore(new Map([['w', saved]]), 'optimizer.safetensors');
    const g = tf.tensor1d([1, 1]);
    sgd.applyGradients({ [p.name]: g });
    // buf = 0.5 [2, 4] + [1, 1] = [2, 3]
    expect(Array.from(p.dataSync())).toEqual([-2, -3]);
    const wrong = tf.tensor1d([1, 2, 3]);
    expect(() => sgd.restore(new Map([['w', wrong]]), 'optimizer.safetensors')).toThrow(/optimizer.safetensors: momentum for 'w' has shape \[3\]/);
    expect(() => sgd.restore(new Map([['v', saved]]), 'optimizer.safetensors')).toThrow(/'v', which the model does not have/);
    tf.dispose([saved, g, wrong]);
    sgd.dispose();
    params.dispose();
  });
});
