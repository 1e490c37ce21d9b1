import { describe, expect, it } from 'vitest';
import mnistImbalanced from '../../pipelines/mnist-imbalanced.js';
import synth from '../../pipelines/synth.js';
import cifar100Lt from '../../pipelines/cifar100-lt.js';
import { applyOverrides, applyOverridesWithScaling } from '../../src/config/overrides.js';
import { describeScaling, scaleSchedule } from '../../src/config/schedule.js';
import { planCells } from '../../src/sweep/grid.js';
import { parseSetArgument } from '../../src/sweep/set-argument.js';
import { learningRateAt } from '../../src/config/pipeline.js';

describe('--epochs keeps the schedule its shape: milestones scale to the same fractions', () => {
  it("moves the paper's decay after 3000 of 4000 epochs to 30 of 40, rounding to whole epochs", () => {
    expect(mnistImbalanced.schedule).toMatchObject({ epochs: 4000, milestones: [3000] });
    const scaling = scaleSchedule(mnistImbalanced.schedule, 40, { explicitMilestones: false });
    expect(scaling).toEqual({ fromEpochs: 4000, fromMilestones: [3000], epochs: 40, milestones: [30] });
    expect(describeScaling(scaling!)).toBe("milestones 30 of 40 epochs (the pipeline's 3000 of 4000, scaled with --epochs)");
    // 160 and 180 of 200: 0.8 and 0.9 of 7 epochs are 5.6 and 6.3.
    expect(scaleSchedule(cifar100Lt.schedule, 7, { explicitMilestones: false })!.milestones).toEqual([6, 6]);
    // Lengthened too; never before the first epoch.
    expect(scaleSchedule({ ...synth.schedule, epochs: 30, milestones: [15] }, 60, { explicitMilestones: false })!.milestones).toEqual([30]);
    expect(scaleSchedule({ ...synth.schedule, epochs: 100, milestones: [1] }, 10, { explicitMilestones: false })!.milestones).toEqual([1]);
    // Nothing moves at the pipeline's own length, without milestones, or when the user gave them.
    expect(scaleSchedule(synth.schedule, synth.schedule.epochs, { explicitMilestones: false })).toBeNull();
    expect(scaleSchedule({ ...synth.schedule, milestones: [] }, 3, { explicitMilestones: false })).toBeNull();
    expect(scaleSchedule(mnistImbalanced.schedule, 40, { explicitMilestones: true })).toBeNull();
  });

  it('train (applyOverrides): --epochs scales the milestones, --set schedule.milestones wins', () => {
    const short = applyOverridesWithScaling(mnistImbalanced, { epochs: 40 });
    expect(short.pipeline.schedule).toMatchObject({ epochs: 40, milestones: [30] });
    expect(short.scaling).toMatchObject({ fromEpochs: 4000, milestones: [30] });
    // The decay happens: epoch 31 trains at a tenth of the rate.
    expect(learningRateAt(short.pipeline.schedule, 31)).toBeCloseTo(mnistImbalanced.schedule.learningRate * 0.1, 15);
    const explicit = applyOverridesWithScaling(mnistImbalanced, { epochs: 40, set: ['schedule.milestones=35'] });
    expect(explicit.pipeline.schedule).toMatchObject({ epochs: 40, milestones: [35] });
    expect(explicit.scaling).toBeNull();
    expect(applyOverrides(mnistImbalanced, {}).schedule.milestones).toEqual([3000]);
    // The input is not changed.
    expect(mnistImbalanced.schedule.milestones).toEqual([3000]);
  });

  it('sweep and paper (planCells): --epochs scales every cell, a --set of the milestones wins', () => {
    const cells = planCells(mnistImbalanced, { losses: ['ce'], taus: ['dynamic'], sets: [], seeds: [1], epochs: 40 }, { buildsData: false });
    expect(cells[0]!.pipeline.schedule).toMatchObject({ epochs: 40, milestones: [30] });
    expect(cells[0]!.scheduleScaling).toMatchObject({ fromMilestones: [3000], milestones: [30] });
    const set = planCells(
      mnistImbalanced,
      { losses: ['ce'], taus: ['dynamic'], sets: [parseSetArgument('schedule.milestones=20,35')], seeds: [1], epochs: 40 },
      { buildsData: false },
    );
    expect(set.map((c) => c.pipeline.schedule.milestones)).toEqual([[20], [35]]);
    expect(set[0]!.scheduleScaling).toBeNull();
    const own = planCells(mnistImbalanced, { losses: ['ce'], taus: ['dynamic'], sets: [], seeds: [1] }, { buildsData: false });
    expect(own[0]!.pipeline.schedule.milestones).toEqual([3000]);
    expect(own[0]!.scheduleScaling).toBeNull();
  });
});
