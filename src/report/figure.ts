import type { ChartSpec } from './chart-specs.js';
import { escapeHtml } from './html.js';
import { chartToSvg } from './render-chart.js';

export interface RenderedChart {
  id: string;
  title: string;
  svg: string;
}

/** A chart rendered to SVG, and the page's figure holding it (its id names the chart for tests and --png). */
export async function figure(chart: ChartSpec): Promise<{ rendered: RenderedChart; html: string }> {
  const svg = await chartToSvg(chart);
  return {
    rendered: { id: chart.id, title: chart.title, svg },
    html: `<figure id="chart-${escapeHtml(chart.id)}" data-chart="${escapeHtml(chart.id)}"><figcaption>${escapeHtml(chart.title)}</figcaption>\n${svg}\n</figure>`,
  };
}
