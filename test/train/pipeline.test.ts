import { describe, expect, it } from 'vitest';
import egtea from '../../pipelines/egtea.js';
import { PIPELINES } from '../../pipelines/index.js';
import { learningRateAt, validatePipeline, type Pipeline } from '../../src/config/pipeline.js';

describe('pipelines', () => {
  it('the EGTEA pipeline carries the paper setting', () => {
    expect(egtea.model.arch).toBe('resnext3d-101');
    expect(egtea.clips.frames).toBe(10);
    expect(egtea.clips.transform.size).toBe(224);
    expect(egtea.schedule).toMatchObject({ epochs: 100, batchSize: 32, learningRate: 0.001, momentum: 0.9, weightDecay: 0.0005, milestones: [60], gamma: 0.1 });
    expect(egtea.dataset.validationSubjects).toBe('P20-P26');
    expect(Object.keys(PIPELINES).sort()).toEqual(['cifar10-lt', 'cifar100-lt', 'egtea', 'fashion-mnist', 'imagenet-lt', 'mnist-imbalanced', 'synth']);
  });

  it('the image pipelines carry the paper settings for MNIST and long-tailed CIFAR', () => {
    const mnist = PIPELINES['mnist-imbalanced']!;
    expect(mnist.model.arch).toBe('lenet5');
    expect(mnist.clips).toMatchObject({ frames: 1, transform: { size: 28, rotation: 0, flipProbability: 0 } });
    expect(mnist.schedule).toMatchObject({
      epochs: 4000,
      batchSize: 100,
      learningRate: 0.001,
      momentum: 0.9,
      weightDecay: 0.0005,
      milestones: [3000],
      gamma: 0.1,
    });
    const cifar = PIPELINES['cifar100-lt']!;
    expect(cifar.model.arch).toBe('resnet32');
    expect(cifar.clips).toMatchObject({ frames: 1, transform: { size: 32 } });
    expect(cifar.schedule).toMatchObject({
      epochs: 200,
      batchSize: 128,
      learningRate: 0.1,
      momentum: 0.9,
      weightDecay: 0.0005,
      milestones: [160, 180],
      gamma: 0.01,
    });
    expect(PIPELINES['imagenet-lt']!.model.arch).toBe('resnet10');
    // CIFAR-10-LT: the same recipe with CIFAR-10's own statistics.
    const cifar10 = PIPELINES['cifar10-lt']!;
    expect(cifar10.schedule).toEqual(cifar.schedule);
    expect(cifar10.model).toEqual(cifar.model);
    expect(cifar10.clips.transform).toMatchObject({ mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] });
    expect(cifar10.dataset).toMatchObject({ annotations: 'cifar10-lt/annotations', frames: 'cifar10-lt/frames', majorityClasses: 3 });
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
    expect(bad((p) => (p.loss = { name: 'focal', gamma: -1 }))).toThrow('my.js: loss.gamma must be a number >= 0');
    expect(bad((p) => (p.loss = { name: 'cdb', smoothing: 1 }))).toThrow('my.js: loss.smoothing must be a number in [0, 1)');
    expect(bad((p) => (p.loss = { name: 'cdb', minDifficulty: 1.5 }))).toThrow('my.js: loss.minDifficulty must be a number in [0, 1]');
    expect(bad((p) => (p.clips.transform.cropScale = [0.9, 0.5]))).toThrow('my.js: clips.transform.cropScale [0.9, 0.5] must be [low, high] with low <= high');
    expect(bad((p) => (p.seed = -1))).toThrow('my.js: seed must be a whole number >= 0');
    expect(bad((p) => delete (p.schedule as Partial<Pipeline['schedule']>).epochs)).toThrow(
      'my.js: schedule.epochs is missing; it must be a positive whole number',
    );
  });

  it('refuses an unknown key at every level with the nearest known one', () => {
    // biome-ignore lint/suspicious/noExplicitAny: the test writes unknown keys at any depth of a pipeline
    type Loose = Record<string, any>;
    const withKey = (change: (p: Loose) => void) => {
      const copy = structuredClone(egtea) as unknown as Loose;
      change(copy);
      return () => validatePipeline(copy as Pipeline, 'my.js');
    };
    expect(withKey((p) => (p.schedule.learningrate = 0.1))).toThrow("my.js: schedule.learningrate is not a setting; did you mean 'schedule.learningRate'?");
    expect(withKey((p) => (p.modle = {}))).toThrow("my.js: modle is not a setting; did you mean 'model'?");
    expect(withKey((p) => (p.clips.transform.flip = 0.5))).toThrow(
      'my.js: clips.transform.flip is not a setting; clips.transform holds: size, cropScale, rotation, flipProbability, mean, std',
    );
    expect(withKey((p) => (p.loss = { name: 'focal', gama: 1 }))).toThrow("my.js: loss.gama is not a setting; did you mean 'loss.gamma'?");
    expect(withKey((p) => (p.loss = { name: 'cdb', setings: { gamma: 1 } }))).toThrow(
      "my.js: loss.setings is not a setting: a loss's settings sit in the loss block itself now",
    );
  });

  it('a loss takes only its own settings: gamma on ldam is refused by name, and only CDB has tau', () => {
    const withLoss = (loss: unknown) => () => validatePipeline({ ...egtea, loss } as Pipeline, 'my.js');
    expect(withLoss({ name: 'ldam', gamma: 1 })).toThrow(
      "my.js: loss.gamma does not apply to loss 'ldam' (only to focal, cb-focal); ldam takes ldamMaxMargin, ldamScale, drwEpoch, beta, reduction",
    );
    expect(withLoss({ name: 'ce', tau: 'dynamic' })).toThrow("my.js: loss.tau does not apply to loss 'ce' (only to cdb); ce takes no settings");
    expect(withLoss({ name: 'magic' })).toThrow('my.js: loss.name must be one of ce, cdb, ifw, focal, cb, cb-focal, eql, ldam');
    for (const loss of [
      { name: 'ce' },
      { name: 'cdb' },
      { name: 'focal', gamma: 1 },
      { name: 'ldam', drwEpoch: null, ldamScale: 10 },
      { name: 'cdb', tau: 0, tauRule: 'official', normalize: 'none', reduction: 'weighted', minDifficulty: 0.05, smoothing: 0.5 },
    ]) {
      expect(validatePipeline({ ...egtea, loss } as Pipeline, 'my.js').loss).toEqual(loss);
    }
  });

  it('model.initializer: he-normal where the architecture implements it; torch-default anywhere', () => {
    const mnist = PIPELINES['mnist-imbalanced']!;
    expect(validatePipeline({ ...mnist, model: { arch: 'lenet5', initializer: 'he-normal' } }, 'my.js').model.initializer).toBe('he-normal');
    expect(validatePipeline({ ...egtea, model: { arch: 'resnext3d-101', initializer: 'torch-default' } }, 'my.js').model.initializer).toBe('torch-default');
    expect(() => validatePipeline({ ...egtea, model: { arch: 'resnext3d-101', initializer: 'he-normal' } }, 'my.js')).toThrow(
      "my.js: model.initializer 'he-normal' is implemented for lenet5 only",
    );
    expect(() => validatePipeline({ ...egtea, model: { arch: 'lenet5', initializer: 'xavier' as 'he-normal' } }, 'my.js')).toThrow(
      'my.js: model.initializer must be one of torch-default, he-normal',
    );
  });
});
