import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { ChartSpec } from './chart-specs.js';

/**
 * A chart as SVG: vega-lite compiled to vega, run headless (no canvas, no loader: the data are
 * inline, so nothing is fetched). vega escapes every text it writes into the SVG.
 */
export async function chartToSvg(chart: ChartSpec): Promise<string> {
  const compiled = vegaLite.compile(chart.spec).spec;
  // A loader that refuses every request: a report never reads anything but its inline data.
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`chart ${chart.id} asked to load ${uri}; report charts use inline data only`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** An SVG as PNG at twice its size, with the system's fonts. */
export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return resvg.render().asPng();
}
