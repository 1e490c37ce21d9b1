import type { TopLevelSpec } from 'vega-lite';
import { cdbWeights } from '../losses/cdb-weights.js';
import type { EvaluationSplit } from '../eval/evaluate-run.js';
import type { ReportedRun } from './run-files.js';

/** One chart of a report: a stable id (also its SVG/PNG file name), a title and its vega-lite spec. */
export interface ChartSpec {
  id: string;
  title: string;
  spec: TopLevelSpec;
}

const GROUP_COLOURS = { domain: ['majority', 'minority'], range: ['#4c78a8', '#f58518'] };
const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
export const CHART_CONFIG = { font: FONT, view: { stroke: null }, axis: { labelLimit: 160 }, legend: { labelLimit: 260 } } as const;

/** Rounds for tooltips and mark descriptions: enough digits to read, few enough to compare. */
// Axis formats must keep these digits: vega-lite describes each mark with its axis's format.
const round = (value: number | null | undefined, digits = 4): number | null => (value === null || value === undefined ? null : Number(value.toFixed(digits)));

function groupOf(run: ReportedRun, classIndex: number): 'majority' | 'minority' {
  return run.info.groups.majority.includes(classIndex) ? 'majority' : 'minority';
}

/** The evaluation a report shows for a run: test when saved, else validation. */
export function shownEvaluation(run: ReportedRun): { split: EvaluationSplit; evaluation: NonNullable<ReportedRun['evaluations']['test']> } | null {
  for (const split of ['test', 'validation'] as const) {
    const evaluation = run.evaluations[split];
    if (evaluation) return { split, evaluation };
  }
  return null;
}

/**
 * Training clips per class, most frequent first, coloured by class group; beside it each
 * evaluated run's recall and precision per class (the paper's Fig. 1 with results added).
 */
export function classesChart(runs: readonly ReportedRun[]): ChartSpec {
  const first = runs[0]!;
  const order = first.info.classes.map((name, c) => ({ name, c, clips: first.info.trainingCounts[c]! })).sort((a, b) => b.clips - a.clips || a.c - b.c);
  const sort = order.map((o) => o.name);
  const counts = order.map((o) => ({ class: o.name, 'training clips': o.clips, group: groupOf(first, o.c) }));
  const results = runs.flatMap((run) => {
    const shown = shownEvaluation(run);
    if (!shown) return [];
    return shown.evaluation.perClass.flatMap((c) =>
      (['recall', 'precision'] as const).map((metric) => ({
        class: c.name,
        series: `${run.label} ${metric}`,
        value: round(metric === 'recall' ? c.accuracy : c.precision),
      })),
    );
  });
  const height = Math.max(200, 18 * sort.length);
  const countsPanel = {
    title: 'training clips per class',
    data: { values: counts },
    width: 260,
    height,
    mark: { type: 'bar' as const, tooltip: true },
    encoding: {
      y: { field: 'class', type: 'nominal' as const, sort, title: null },
      x: { field: 'training clips', type: 'quantitative' as const },
      color: { field: 'group', type: 'nominal' as const, scale: GROUP_COLOURS, title: 'class group' },
    },
  };
  const resultsPanel = {
    title: 'recall and precision per class (evaluated split)',
    data: { values: results },
    width: 300,
    height,
    mark: { type: 'bar' as const, tooltip: true },
    encoding: {
      y: { field: 'class', type: 'nominal' as const, sort, title: null, axis: { labels: false, ticks: false } },
      yOffset: { field: 'series', type: 'nominal' as const },
      x: { field: 'value', type: 'quantitative' as const, scale: { domain: [0, 1] }, title: 'recall / precision' },
      color: { field: 'series', type: 'nominal' as const, scale: { scheme: 'tableau10' }, title: 'run, metric' },
    },
  };
  return {
    id: 'classes',
    title: 'Classes: training clips, and recall and precision per run',
    spec: {
      config: CHART_CONFIG,
      hconcat: results.length > 0 ? [countsPanel, resultsPanel] : [countsPanel],
      resolve: { scale: { color: 'independent' } },
    } as TopLevelSpec,
  };
}

/**
 * CDB over the epochs of one run: tau, and per class the validation accuracy of each epoch,
 * the difficulty it gives and the weight the next epoch trains with. Null for other losses.
 */
export function cdbChart(run: ReportedRun, index: number): ChartSpec | null {
  const epochs = run.history.filter((r) => r.cdb !== null);
  if (epochs.length === 0) return null;
  const tau = epochs.map((r) => ({ epoch: r.epoch, tau: round(r.cdb!.tau) }));
  const cells = epochs.flatMap((r) =>
    run.info.classes.map((name, c) => {
      const accuracy = r.validation.perClass[c]?.accuracy ?? null;
      return {
        epoch: r.epoch,
        class: name,
        'validation accuracy': round(accuracy),
        difficulty: accuracy === null ? null : round(1 - accuracy),
        weight: round(r.cdb!.weights[c]),
      };
    }),
  );
  const classes = [...run.info.classes];
  const heat = (field: 'difficulty' | 'weight', title: string, scheme: string) => ({
    title,
    data: { values: cells },
    width: Math.max(240, 22 * epochs.length),
    height: Math.max(160, 14 * classes.length),
    mark: { type: 'rect' as const, tooltip: { content: 'data' as const } },
    encoding: {
      x: { field: 'epoch', type: 'ordinal' as const, axis: { labelAngle: 0 } },
      y: { field: 'class', type: 'nominal' as const, sort: classes, title: null },
      color: { field, type: 'quantitative' as const, scale: { scheme }, title: field },
    },
  });
  return {
    id: `cdb-${index + 1}`,
    title: `CDB over the epochs: ${run.label}`,
    spec: {
      config: CHART_CONFIG,
      vconcat: [
        {
          title: 'tau after each epoch',
          data: { values: tau },
          width: Math.max(240, 22 * epochs.length),
          height: 120,
          mark: { type: 'line' as const, point: true, tooltip: true },
          encoding: {
            x: { field: 'epoch', type: 'ordinal' as const, axis: { labelAngle: 0 } },
            y: { field: 'tau', type: 'quantitative' as const, scale: { zero: false }, axis: { format: '~g' } },
          },
        },
        {
          hconcat: [
            heat('difficulty', 'difficulty 1 - A_c from each epoch\u2019s validation', 'oranges'),
            heat('weight', 'weight for the next epoch', 'blues'),
          ],
          resolve: { scale: { color: 'independent' } },
        },
      ],
    } as TopLevelSpec,
  };
}

/** Loss and validation metrics per epoch of one run, learning-rate changes marked. */
export function curvesChart(run: ReportedRun, index: number): ChartSpec | null {
  if (run.history.length === 0) return null;
  const loss = run.history.map((r) => ({ epoch: r.epoch, 'training loss': round(r.trainLoss) }));
  const series = (name: string, value: number | null) => ({ name, value: round(value) });
  const metrics = run.history.flatMap((r) =>
    [
      series('top-1', r.validation.top1),
      series('macro recall', r.validation.macroRecall),
      series('majority macro recall', r.validation.groups.majority.macroRecall),
      series('minority macro recall', r.validation.groups.minority.macroRecall),
    ].map((s) => ({ epoch: r.epoch, metric: s.name, value: s.value })),
  );
  // A step is an epoch whose rate differs from the epoch before.
  const steps = run.history.flatMap((r, i) =>
    i > 0 && r.learningRate !== run.history[i - 1]!.learningRate ? [{ epoch: r.epoch, 'learning rate': r.learningRate, label: `lr ${r.learningRate}` }] : [],
  );
  const stepLayers = [
    {
      data: { values: steps },
      mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#888' },
      encoding: {
        x: { field: 'epoch', type: 'quantitative' as const },
        tooltip: [
          { field: 'epoch', type: 'quantitative' as const },
          { field: 'learning rate', type: 'quantitative' as const, format: '.3~g' },
        ],
      },
    },
    {
      data: { values: steps },
      mark: { type: 'text' as const, align: 'left' as const, dx: 3, dy: -4, color: '#555', y: 0 },
      encoding: { x: { field: 'epoch', type: 'quantitative' as const }, text: { field: 'label' } },
    },
  ];
  const epochAxis = { field: 'epoch', type: 'quantitative' as const, axis: { tickMinStep: 1, format: 'd' } };
  return {
    id: `curves-${index + 1}`,
    title: `Training curves: ${run.label}`,
    spec: {
      config: CHART_CONFIG,
      hconcat: [
        {
          title: 'training loss',
          width: 280,
          height: 200,
          layer: [
            {
              data: { values: loss },
              mark: { type: 'line' as const, point: true, tooltip: true },
              encoding: { x: epochAxis, y: { field: 'training loss', type: 'quantitative' as const, scale: { zero: false }, axis: { format: '~g' } } },
            },
            ...(steps.length ? stepLayers : []),
          ],
        },
        {
          title: 'validation',
          width: 280,
          height: 200,
          layer: [
            {
              data: { values: metrics },
              mark: { type: 'line' as const, point: true, tooltip: true },
              encoding: {
                x: epochAxis,
                y: { field: 'value', type: 'quantitative' as const, scale: { domain: [0, 1] } },
                color: { field: 'metric', type: 'nominal' as const },
              },
            },
            ...(steps.length ? stepLayers : []),
          ],
        },
      ],
    } as TopLevelSpec,
  };
}

/** Beyond this many classes a matrix has more cells than a page can show legibly (ImageNet-LT: a million). */
export const MAX_MATRIX_CLASSES = 100;

/** The confusion matrix of a run's shown evaluation, each row divided by its true class's clips. */
export function confusionChart(run: ReportedRun, index: number): ChartSpec | null {
  const shown = shownEvaluation(run);
  if (!shown || run.info.classes.length > MAX_MATRIX_CLASSES) return null;
  const classes = [...run.info.classes];
  const cells = shown.evaluation.confusion.flatMap((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((count, p) => ({ true: classes[t]!, predicted: classes[p]!, clips: count, fraction: total > 0 ? round(count / total) : null }));
  });
  const size = Math.max(200, 20 * classes.length);
  return {
    id: `confusion-${index + 1}`,
    title: `Confusion matrix (${shown.split} split, rows normalised): ${run.label}`,
    spec: {
      config: CHART_CONFIG,
      data: { values: cells },
      width: size,
      height: size,
      mark: { type: 'rect', tooltip: { content: 'data' } },
      encoding: {
        x: { field: 'predicted', type: 'nominal', sort: classes, axis: { labelAngle: -45 } },
        y: { field: 'true', type: 'nominal', sort: classes },
        color: { field: 'fraction', type: 'quantitative', scale: { scheme: 'greys', domain: [0, 1] } },
      },
    },
  };
}

/** w = d^tau over difficulty d for several tau, unnormalised (the paper's Fig. 2). */
export function weightsChart(taus: readonly number[]): ChartSpec {
  const steps = 50;
  const accuracies = Array.from({ length: steps + 1 }, (_, i) => 1 - i / steps);
  const values = taus.flatMap((tau) => {
    const { difficulty, weights } = cdbWeights(accuracies, { tau, normalize: 'none' });
    return difficulty.map((d, i) => ({ tau: String(tau), difficulty: round(d), weight: round(weights[i]) }));
  });
  return {
    id: 'weights',
    title: 'CDB weight against difficulty for several tau',
    spec: {
      config: CHART_CONFIG,
      data: { values },
      width: 320,
      height: 240,
      mark: { type: 'line', tooltip: true, point: { size: 10 } },
      encoding: {
        x: { field: 'difficulty', type: 'quantitative', title: 'difficulty d = 1 - A' },
        y: { field: 'weight', type: 'quantitative', title: 'weight d^tau' },
        color: { field: 'tau', type: 'nominal', sort: taus.map(String) },
      },
    },
  };
}
