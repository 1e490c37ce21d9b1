import { describe, expect, it } from 'vitest';
import egtea from '../../pipelines/egtea.js';
import { PIPELINES } from '../../pipelines/index.js';
import { learningRateAt, validatePipeline, type Pipeline } from '../../src/train/pipeline.js';

describe('pipelines', () => {
  it('the EGTEA pipeline carries the paper setting', () => {
    expect(egtea.model.arch).toBe('resnext3d-101');
    expect(egtea.clips.frames).toBe(10);
    expect(egtea.clips.transform.size).toBe(224);
    expect(egtea.schedule).toMatchObject({ epochs: 100, batchSize: 32, learningRate: 0.001, momentum: 0.9, weightDecay: 0.0005, milestones: [60], gamma: 0.1 });
    expect(egtea.dataset.validationSubjects).toBe('P20-P26');
    expect(Object.keys(PIPELINES).sort()).toEqual(['cifar100-lt', 'egtea', 'fashion-mnist', 'imagenet-lt', 'mnist-imbalanced', 'synth']);
  });

  it('the image pipelines carry the paper settings for MNIST and long-tailed CIFAR', () => {
    const mnist = PIPELINES['mnist-imbalanced']!;
    expect(mnist.model.arch).toBe('lenet5');
    expect(mnist.clips).toMatchObject({ frames: 1, transform: { size: 28, rotation: 0, flipProbability: 0 } });
    expect(mnist.schedule).toMatchObject({ epochs: 4000, batchSize: 100, learningRate: 0.001, momentum: 0.9, weightDecay: 0.0005, milestones: [3000], gamma: 0.1 });
    const cifar = PIPELINES['cifar100-lt']!;
    expect(cifar.model.arch).toBe('resnet32');
    expect(cifar.clips).toMatchObject({ frames: 1, transform: { size: 32 } });
    expect(cifar.schedule).toMatchObject({ epochs: 200, batchSize: 128, learningRate: 0.1, momentum: 0.9, weightDecay: 0.0005, milestones: [160, 180], gamma: 0.01 });
    expect(PIPELINES['imagenet-lt']!.model.arch).toBe('resnet10');
  });

  it('step decay: the rate drops by gamma after each milestone', () => {
    expect(learningRateAt(egtea.schedule, 60)).toBeCloseTo(0.001, 12);
    expect(learningRateAt(egtea.schedule, 61)).toBeCloseTo(0.0001, 12);
  });

  it('a bad field is named with the pipeline it came from', () => {
    const bad = (change: (p: Pipeline) => void) => {
      const copy = structuredClone(egtea);
      change(copy);
      return () => validatePipeline(copy, 'my.js');
    };
    expect(bad((p) => (p.schedule.accumulation = 5))).toThrow('my.js: schedule.accumulation must divide batchSize (32)');
    expect(bad((p) => ((p.model as { arch: string }).arch = 'resnet999'))).toThrow(/my.js: model.arch must be one of/);
    expect(bad((p) => ((p.loss as { tau: unknown }).tau = -1))).toThrow("my.js: loss.tau must be a number >= 0 or 'dynamic'");
    expect(bad((p) => (p.dataset.validationSubjects = 'P30-P20'))).toThrow(/my.js: dataset.validationSubjects/);
    expect(bad((p) => (p.loss.settings = { gamma: -1 }))).toThrow('my.js: loss.settings.gamma must be a number >= 0');
  });
});
