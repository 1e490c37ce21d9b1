import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { inferenceContext, trainingContext, applyBatchNormUpdates } from '../../src/models/context.js';
import { createModel } from '../../src/models/presets.js';

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
