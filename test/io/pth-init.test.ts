import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '../../src/train/trainer.js';
import { FIXTURES } from '../helpers.js';
import { smallPipeline, smallSyntheticDataset } from '../synthetic-data.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-pth-init-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('train --init FILE.pth', () => {
  it('starts from a DataParallel PyTorch checkpoint, converted on the fly, with a fresh head for its own classes', async () => {
    const dataRoot = (await smallSyntheticDataset()).root;
    const lines: string[] = [];
    const result = await train({
      pipeline: smallPipeline({ epochs: 1 }),
      dataRoot,
      out: path.join(work, 'run'),
      init: path.join(FIXTURES, 'pth_tiny_dp.pth'),
      graphStep: false,
      log: (l) => lines.push(l),
    });
    expect(result.init!.loaded).toHaveLength(85);
    expect(result.init!.replacedHead).toEqual(['fc.weight', 'fc.bias']);
    expect(result.init!.unused).toEqual([]);
    expect(lines.join('\n')).toContain('new head for 19 classes');
    expect(result.epochs).toHaveLength(1);
  });
});
