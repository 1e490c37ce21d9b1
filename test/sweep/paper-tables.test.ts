import { describe, expect, it } from 'vitest';
import { PAPER_TABLES, paperTableMarkdown } from '../../src/sweep/paper-tables.js';
import { parseSetArgument, setPipelineValue } from '../../src/sweep/set-argument.js';
import { chooseBaseline, lossVariants, planCells } from '../../src/sweep/grid.js';
import { pairedDifference, spread } from '../../src/sweep/stats.js';
import mnistImbalanced from '../../pipelines/mnist-imbalanced.js';

describe('sweep statistics', () => {
  it('mean and sample standard deviation; paired differences by seed', () => {
    const s = spread([0.1, 0.2, 0.6]);
    expect(s.mean).toBeCloseTo(0.3, 15);
    expect(s.std).toBeCloseTo(Math.sqrt((0.04 + 0.01 + 0.09) / 2), 15);
    expect(spread([0.4])).toEqual({ n: 1, mean: 0.4, std: null });
    const d = pairedDifference(
      new Map([
        [1, 0.1],
        [2, 0.3],
        [3, 0.2],
        [4, 0.5],
      ]),
      new Map([
        [1, 0.2],
        [2, 0.3],
        [3, 0.1],
      ]),
    );
    expect(d.seeds).toBe(3);
    expect(d.meanDifference).toBeCloseTo((-0.1 + 0 + 0.1) / 3, 15);
    expect([d.wins, d.ties]).toEqual([1, 1]);
  });
});

describe('grid', () => {
  it('crosses settings, seeds and losses (CDB once per tau), each pipeline checked', () => {
    const cells = planCells(
      mnistImbalanced,
      {
        losses: ['ce', 'cdb'],
        taus: [1, 'dynamic'],
        sets: [parseSetArgument('dataset.majorityRatio=0.9,0.99'), parseSetArgument('schedule.learningRate=0.01')],
        seeds: [1, 2],
        epochs: 40,
      },
      { buildsData: true },
    );
    expect(cells).toHaveLength(2 * 2 * 3);
    expect(cells[0]!.name).toBe('dataset.majorityRatio=0.9,schedule.learningRate=0.01,seed=1,loss=ce');
    expect(cells[0]!.dataKey).toBe('dataset.majorityRatio=0.9,seed=1');
    expect(cells[0]!.pipeline.schedule).toMatchObject({ learningRate: 0.01, epochs: 40 });
    const tau1 = cells.find((c) => c.variant.label === 'cdb(tau=1)' && c.seed === 2)!;
    expect(tau1.pipeline.loss).toMatchObject({ name: 'cdb', tau: 1 });
    expect(tau1.pipeline.seed).toBe(2);
    expect(lossVariants(['focal', 'cdb'], [0.5]).map((v) => v.label)).toEqual(['focal', 'cdb(tau=0.5)']);
    expect(setPipelineValue(mnistImbalanced, 'model.initializer', 'he-normal').model.initializer).toBe('he-normal');
    expect(() => setPipelineValue(mnistImbalanced, 'model.initializer', 'xavier')).toThrow('model.initializer must be one of torch-default, he-normal, l2rw');
    expect(setPipelineValue(mnistImbalanced, 'loss.smoothing', 0.5).loss).toMatchObject({ name: 'cdb', smoothing: 0.5 });
    expect(() => setPipelineValue(mnistImbalanced, 'loss.smoothing', 1)).toThrow(/loss\.smoothing/);
  });
});

describe("a loss's own settings in a grid", () => {
  it("are set after the cell's loss (LDAM-DRW on a CDB pipeline); a loss that does not take one is named", () => {
    const cells = planCells(
      mnistImbalanced,
      { losses: ['ldam'], taus: ['dynamic'], sets: [parseSetArgument('loss.drwEpoch=32')], seeds: [1], epochs: 40 },
      { buildsData: true },
    );
    expect(cells[0]!.pipeline.loss).toEqual({ name: 'ldam', drwEpoch: 32 });
    expect(cells[0]!.name).toBe('loss.drwEpoch=32,seed=1,loss=ldam');
    expect(() =>
      planCells(mnistImbalanced, { losses: ['ce', 'ldam'], taus: ['dynamic'], sets: [parseSetArgument('loss.drwEpoch=32')], seeds: [1] }, { buildsData: true }),
    ).toThrow("--set loss.drwEpoch=32 (loss ce): loss.drwEpoch does not apply to loss 'ce' (only to ldam)");
  });
});

describe('the baseline of a sweep', () => {
  it('is the one given, else ce, else the first loss of the grid', () => {
    expect(chooseBaseline(lossVariants(['ifw', 'ce', 'cdb'], ['dynamic']), undefined)).toBe('ce');
    expect(chooseBaseline(lossVariants(['cdb'], [1, 'dynamic']), undefined)).toBe('cdb(tau=1)');
    expect(chooseBaseline(lossVariants(['focal', 'cdb'], ['dynamic']), 'cdb(tau=dynamic)')).toBe('cdb(tau=dynamic)');
    expect(() => chooseBaseline(lossVariants(['ifw', 'cdb'], ['dynamic']), 'ce')).toThrow(
      '--baseline ce: not among the losses of the grid (ifw, cdb(tau=dynamic))',
    );
  });
});

describe("the paper's tables", () => {
  it('lays out ours beside the published numbers, losses down and ratios across', () => {
    const text = paperTableMarkdown(PAPER_TABLES.table1, [0.9, 0.98], (variant, ratio) =>
      variant === 'ce' && ratio === 0.9 ? { n: 3, mean: 0.0123, std: 0.0045 } : null,
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('| loss | 0.9: ours | 0.98: ours | 0.9: paper | 0.98: paper |');
    expect(lines[2]).toBe('| CE | 1.23 ± 0.45 (3) | n/a | 1.50 ± 0.51 | 5.09 ± 0.41 |');
    expect(lines.find((l) => l.startsWith('| L2RW'))).toBe('| L2RW | - | - | 1.24 ± 0.69 | 2.06 ± 0.85 |');
    expect(lines.at(-1)).toBe('| CDB-CE (dynamic tau) | n/a | n/a | 0.74 ± 0.14 | 1.65 ± 0.26 |');
    expect(PAPER_TABLES.table2.rows.map((r) => r.variant)).toEqual([
      'cdb(tau=0.5)',
      'cdb(tau=1)',
      'cdb(tau=1.5)',
      'cdb(tau=2)',
      'cdb(tau=5)',
      'cdb(tau=7)',
      'cdb(tau=dynamic)',
    ]);
  });
});
