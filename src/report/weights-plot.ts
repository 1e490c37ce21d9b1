import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { weightsChart } from './chart-specs.js';
import { chartToSvg, svgToPng } from './render-chart.js';

export const DEFAULT_PLOT_TAUS = [0, 0.5, 1, 1.5, 2, 4] as const;

/** The weight-against-difficulty chart (the paper's Fig. 2) as .svg or .png, with `tau` among the curves. */
export async function writeWeightsPlot(file: string, tau?: number): Promise<void> {
  const extension = path.extname(file).toLowerCase();
  if (extension !== '.svg' && extension !== '.png') throw new UserError(`--plot ${file}: give a file name ending in .svg or .png`);
  const taus = [...new Set([...DEFAULT_PLOT_TAUS, ...(tau === undefined ? [] : [Number(tau.toFixed(4))])])].sort((a, b) => a - b);
  const svg = await chartToSvg(weightsChart(taus));
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFileAtomic(file, extension === '.svg' ? svg : svgToPng(svg));
}
