import type { TopLevelSpec } from 'vega-lite';
import type { ModelKind } from '../sweep/summary.js';
import { CHART_CONFIG, type ChartSpec } from './chart-specs.js';
import type { ReportedSweep } from './sweep-files.js';

export const MODEL_TITLES: Record<ModelKind, string> = { final: 'final model', best: 'best-validation model' };

/** A fraction as a percentage with the digits a chart's marks carry (their labels are what the browser test reads). */
const chartPercent = (fraction: number): number => Number((100 * fraction).toFixed(3));

/** The field names of the chart's marks (also their labels' names). */
const SWEEP_FIELDS = { mean: 'test error (%)', low: 'mean - std (%)', high: 'mean + std (%)', loss: 'loss', seeds: 'seeds' } as const;

/** The swept setting's axis title: the --set key when one numeric key is swept. */
export function settingTitle(sweep: ReportedSweep): string {
  return sweep.axis?.key ?? 'setting';
}

/** The settings in the order a chart and a table show them: by value when one number is swept (a ratio, a rate), else the summary's. */
export function orderedSettings(sweep: ReportedSweep): string[] {
  const { axis, summary } = sweep;
  return axis ? [...summary.settings].sort((a, b) => (axis.values.get(a) ?? 0) - (axis.values.get(b) ?? 0)) : [...summary.settings];
}

/** A setting as the chart's axis shows it: the swept number, or the label. */
export function shownSetting(sweep: ReportedSweep, label: string): string {
  return sweep.axis?.values.has(label) ? String(sweep.axis.values.get(label)) : label;
}

/**
 * The text a mark carries as its accessible label (what a screen reader says and the browser test
 * reads): "name: value; ..." of the numbers that place it.
 */
function describe(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
}

/**
 * Test error against the swept setting for one model kind: one line per loss through the mean
 * over seeds, and a bar from mean - std to mean + std (sample standard deviation) where two or
 * more seeds finished. The numbers are the summary's own (summary.json), only turned into %.
 * The settings sit at 0, 1, 2, ... and each loss a little to the side within its setting, so
 * the bars of losses do not hide each other (vega-lite's xOffset would break the lines).
 */
export function sweepErrorChart(sweep: ReportedSweep, model: ModelKind): ChartSpec {
  const { summary } = sweep;
  const x = settingTitle(sweep);
  const settings = orderedSettings(sweep);
  const labels = settings.map((label) => shownSetting(sweep, label));
  const width = Math.min(0.5, 0.12 * summary.variants.length);
  const position = (setting: string, variant: string) => {
    const losses = summary.variants.length;
    const shift = losses > 1 ? (summary.variants.indexOf(variant) / (losses - 1) - 0.5) * width : 0;
    return settings.indexOf(setting) + shift;
  };
  const rows = summary.rows.filter((r) => r.model === model && r.testError.mean !== null && settings.includes(r.setting));
  const common = (r: (typeof rows)[number]) => ({ position: position(r.setting, r.variant), [SWEEP_FIELDS.loss]: r.variant });
  const means = rows.map((r) => {
    const mean = chartPercent(r.testError.mean!);
    return {
      ...common(r),
      [SWEEP_FIELDS.mean]: mean,
      label: describe({ [x]: shownSetting(sweep, r.setting), [SWEEP_FIELDS.loss]: r.variant, [SWEEP_FIELDS.mean]: mean, [SWEEP_FIELDS.seeds]: r.testError.n }),
    };
  });
  const spreads = rows
    .filter((r) => r.testError.std !== null)
    .map((r) => {
      const low = chartPercent(r.testError.mean! - r.testError.std!);
      const high = chartPercent(r.testError.mean! + r.testError.std!);
      return {
        ...common(r),
        [SWEEP_FIELDS.low]: low,
        [SWEEP_FIELDS.high]: high,
        label: describe({
          [x]: shownSetting(sweep, r.setting),
          [SWEEP_FIELDS.loss]: r.variant,
          [SWEEP_FIELDS.low]: low,
          [SWEEP_FIELDS.high]: high,
          [SWEEP_FIELDS.seeds]: r.testError.n,
        }),
      };
    });
  const xAxis = {
    field: 'position',
    type: 'quantitative' as const,
    scale: { domain: [-0.5, settings.length - 0.5], nice: false, zero: false },
    axis: { values: settings.map((_, i) => i), labelExpr: `${JSON.stringify(labels)}[datum.value]`, title: x, grid: false },
  };
  const colour = { field: SWEEP_FIELDS.loss, type: 'nominal' as const, sort: summary.variants, scale: { scheme: 'tableau10' }, title: 'loss' };
  const yTitle = 'test error (%), mean ± std over seeds';
  const description = { field: 'label', type: 'nominal' as const };
  const tooltip = { field: 'label', type: 'nominal' as const, title: 'value' };
  const layers = [
    {
      data: { values: spreads },
      mark: { type: 'rule' as const, strokeWidth: 2, opacity: 0.7 },
      encoding: {
        x: xAxis,
        y: { field: SWEEP_FIELDS.low, type: 'quantitative' as const, axis: { title: yTitle } },
        y2: { field: SWEEP_FIELDS.high },
        color: colour,
        description,
        tooltip,
      },
    },
    {
      data: { values: means },
      mark: { type: 'line' as const, point: { size: 50, filled: true } },
      encoding: { x: xAxis, y: { field: SWEEP_FIELDS.mean, type: 'quantitative' as const, axis: { title: yTitle } }, color: colour, description, tooltip },
    },
  ];
  return {
    id: `sweep-${model}`,
    title: `Test error against ${x}, ${MODEL_TITLES[model]}: mean over seeds, bars from mean - std to mean + std`,
    spec: {
      config: CHART_CONFIG,
      width: Math.max(320, 110 * settings.length),
      height: 260,
      layer: spreads.length > 0 ? layers : [layers[1]!],
    } as TopLevelSpec,
  };
}
