import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build-report.js';
import { spread, pairedDifference } from '../../src/sweep/stats.js';
import type { SummaryRow, SweepSummary } from '../../src/sweep/summary.js';

// The sweep page's edges without running a sweep (the browser test runs a real one): settings
// given out of order, a single seed (no spread to draw), a cell that never finished, text
// settings. The summaries are built with the sweep's own statistics (stats.ts).

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-sweep-report-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function row(setting: string, variant: string, model: 'final' | 'best', errors: number[], baseline: number[] | null): SummaryRow {
  const bySeed = (values: number[]) => new Map(values.map((v, i) => [i + 1, v]));
  return {
    setting,
    variant,
    model,
    seeds: errors.map((_, i) => i + 1),
    testError: spread(errors),
    top1: spread(errors.map((e) => 1 - e)),
    macroRecall: spread([]),
    groupRecall: {},
    perClassAccuracy: [],
    epoch: spread([]),
    vsBaseline: baseline ? pairedDifference(bySeed(errors), bySeed(baseline)) : null,
  };
}

function writeSweep(name: string, sets: { key: string; values: (number | string)[] }[], summary: Omit<SweepSummary, 'protocol' | 'classes'>): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'sweep.json'),
    JSON.stringify({ command: 'sweep', pipeline: 'mnist-imbalanced', source: null, grid: { losses: [], taus: [], sets, seeds: [1] } }),
  );
  fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ protocol: ['Seeds: 1 (1) <b>'], classes: ['a', 'b'], ...summary }));
  return dir;
}

const labels = (svg: string) => [...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'));

describe('egtea report of a sweep: edges', () => {
  it('orders swept numbers by value, draws no bar for a single seed, and says which cells are missing', async () => {
    const settings = ['dataset.majorityRatio=0.99', 'dataset.majorityRatio=0.9'];
    const rows = settings.flatMap((s, i) =>
      (['final', 'best'] as const).flatMap((model) => [
        row(s, 'ce', model, [0.2 + i / 10], null),
        ...(i === 0 ? [row(s, 'cdb(tau=dynamic)', model, [], [])] : [row(s, 'cdb(tau=dynamic)', model, [0.125], [0.3])]),
      ]),
    );
    const dir = writeSweep('ordered', [{ key: 'dataset.majorityRatio', values: [0.99, 0.9] }], {
      baseline: 'ce',
      settings,
      variants: ['ce', 'cdb(tau=dynamic)'],
      rows,
      missing: ['dataset.majorityRatio=0.99,seed=1,loss=cdb(tau=dynamic)'],
    });
    const report = await buildReport([dir]);
    expect(report.sweep).toBe(dir);
    expect(report.charts.map((c) => c.id)).toEqual(['sweep-final', 'sweep-best']);
    const marks = labels(report.charts[0]!.svg);
    expect(marks).toContain("X-axis titled 'dataset.majorityRatio' for a linear scale with values from −0.5 to 1.5");
    expect(marks).toContain('dataset.majorityRatio: 0.99; loss: ce; test error (%): 20; seeds: 1');
    expect(marks).toContain('dataset.majorityRatio: 0.9; loss: ce; test error (%): 30; seeds: 1');
    expect(marks).toContain('dataset.majorityRatio: 0.9; loss: cdb(tau=dynamic); test error (%): 12.5; seeds: 1');
    expect(marks.some((m) => m.includes('mean - std'))).toBe(false);
    expect(marks.some((m) => m.includes('0.99; loss: cdb'))).toBe(false);
    // 0.9 comes first: its tick label is drawn left of 0.99's.
    const ticks = [...report.charts[0]!.svg.matchAll(/<text[^>]*transform="translate\(([\d.]+),[\d.]+\)"[^>]*>(0\.99?)<\/text>/g)].map((m) => ({
      x: Number(m[1]),
      label: m[2],
    }));
    expect(ticks.map((t) => t.label)).toEqual(['0.9', '0.99']);
    expect(ticks[0]!.x).toBeLessThan(ticks[1]!.x);

    const html = report.html;
    expect(html).toContain('<td>not run</td>');
    expect(html).toContain('<td>30.00 ± - (1 seed)</td>');
    expect(html).toContain('<td>-17.50 (1/1 won)</td>');
    expect(html).toContain('Not finished (1, left out of every mean): dataset.majorityRatio=0.99,seed=1,loss=cdb(tau=dynamic)');
    expect(html).toContain('<li>Seeds: 1 (1) &lt;b&gt;</li>');
  });

  it('keeps text settings in the summary\u2019s order, labelled as the summary labels them', async () => {
    const settings = ['model.initializer=torch-default', 'model.initializer=he-normal'];
    const rows = settings.flatMap((s) => (['final', 'best'] as const).map((model) => row(s, 'ce', model, [0.25, 0.5], null)));
    const dir = writeSweep('text', [{ key: 'model.initializer', values: ['torch-default', 'he-normal'] }], {
      baseline: 'ce',
      settings,
      variants: ['ce'],
      rows,
      missing: [],
    });
    const report = await buildReport([dir]);
    const marks = labels(report.charts[1]!.svg);
    expect(marks).toContain("X-axis titled 'setting' for a linear scale with values from −0.5 to 1.5");
    // mean 37.5, sample standard deviation 17.678: the bar from 19.822 to 55.178.
    expect(marks).toContain('setting: model.initializer=he-normal; loss: ce; mean - std (%): 19.822; mean + std (%): 55.178; seeds: 2');
    expect(marks).toContain('setting: model.initializer=torch-default; loss: ce; test error (%): 37.5; seeds: 2');
  });

  it('names a summary that is not one', async () => {
    const dir = writeSweep('broken', [], { baseline: 'ce', settings: [], variants: [], rows: [], missing: [] });
    fs.writeFileSync(path.join(dir, 'summary.json'), '{"rows": [{"setting": 1}]}');
    await expect(buildReport([dir])).rejects.toThrow(`${path.join(dir, 'summary.json')}: not a sweep summary written by egtea sweep`);
    fs.writeFileSync(path.join(dir, 'summary.json'), '{"rows": [');
    await expect(buildReport([dir])).rejects.toThrow(`${path.join(dir, 'summary.json')}: not JSON`);
  });
});
