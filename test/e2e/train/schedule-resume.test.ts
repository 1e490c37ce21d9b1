import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyOverridesWithScaling } from '../../../src/config/overrides.js';
import { RunFolder } from '../../../src/run/run-folder.js';
import { train } from '../../../src/train/trainer.js';
import { smallPipeline, smallSyntheticDataset } from '../../synthetic-data.js';

// --epochs scales the milestones (config/schedule.ts): a run extended with more epochs is the same
// run only while the epochs it trained keep their learning rates.

let dataRoot: string;
let work: string;
// 4 epochs, decay after epoch 2 (half way): --epochs 2 keeps the decay at epoch 1, --epochs 6 at 3.
const base = (() => {
  const p = smallPipeline({ epochs: 4 });
  return { ...p, schedule: { ...p.schedule, milestones: [2] } };
})();

beforeAll(async () => {
  dataRoot = (await smallSyntheticDataset()).root;
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-schedule-resume-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('a run shortened or extended with --epochs', () => {
  it('records the scaled milestones in run.json, and refuses an extension that would change the rate of a trained epoch, keeping the run', async () => {
    const out = path.join(work, 'run');
    const two = applyOverridesWithScaling(base, { epochs: 2 });
    expect(two.pipeline.schedule.milestones).toEqual([1]);
    await train({ pipeline: two.pipeline, scheduleScaling: two.scaling, dataRoot, out });
    const info = await new RunFolder(out).readRunInfo();
    expect(info.scheduleScaling).toEqual({ fromEpochs: 4, fromMilestones: [2], epochs: 2, milestones: [1] });
    expect(info.pipeline.schedule.milestones).toEqual([1]);
    const history = await new RunFolder(out).readHistory();
    expect(history.map((r) => r.learningRate)).toEqual([0.01, 0.01 * 0.1]);

    // --epochs 6 puts the decay after epoch 3: epoch 2 would have had another rate.
    const six = applyOverridesWithScaling(base, { epochs: 6 });
    expect(six.pipeline.schedule.milestones).toEqual([3]);
    await expect(train({ pipeline: six.pipeline, scheduleScaling: six.scaling, dataRoot, out })).rejects.toThrow(
      `${out}: its 2 epochs were trained with milestones 1 (of 2 epochs); with 6 epochs the milestones are 3, which changes the learning rate of epoch 2. Keep the run's with --set schedule.milestones=1, pass --restart to train from the start, or choose another --out`,
    );
    expect((await new RunFolder(out).readHistory()).length).toBe(2);
    // Keeping the run's milestones extends it.
    const kept = applyOverridesWithScaling(base, { epochs: 3, set: ['schedule.milestones=1'] });
    expect(kept.scaling).toBeNull();
    const extended = await train({ pipeline: kept.pipeline, dataRoot, out });
    expect(extended.resumedFrom).toBe(2);
    expect(extended.epochs.map((r) => r.epoch)).toEqual([1, 2, 3]);
  }, 120_000);
});
