import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeWeightsPlot } from '../../src/report/weights-plot.js';
import { egtea } from '../support/run-cli.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-weights-plot-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('weights plot', () => {
  it('draws d^tau for the standard tau and the given one, as SVG or PNG', async () => {
    const svgFile = path.join(work, 'w.svg');
    await writeWeightsPlot(svgFile, 1.23456);
    const svg = fs.readFileSync(svgFile, 'utf8');
    // tau rounded to 1.2346: 0.3^1.2346 = 0.22618; 0.8^4 = 0.4096
    expect(svg).toContain('aria-label="difficulty d = 1 - A: 0.3; weight d^tau: 0.2262; tau: 1.2346"');
    expect(svg).toContain('aria-label="difficulty d = 1 - A: 0.8; weight d^tau: 0.4096; tau: 4"');
    const pngFile = path.join(work, 'sub', 'w.png');
    await writeWeightsPlot(pngFile);
    expect(fs.readFileSync(pngFile).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    await expect(writeWeightsPlot(path.join(work, 'w.pdf'))).rejects.toThrow(/--plot .*w\.pdf: give a file name ending in \.svg or \.png/);
  });

  it('egtea weights --plot writes the chart with the run\u2019s tau', () => {
    const file = path.join(work, 'cli.svg');
    const result = egtea(['weights', '--accuracy', '0.9,0.5,0.2', '--tau', '3', '--plot', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toContain('aria-label="difficulty d = 1 - A: 0.5; weight d^tau: 0.125; tau: 3"');
  });
});
