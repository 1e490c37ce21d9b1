import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvaluation } from '../../../src/eval/evaluate-run.js';
import { evaluateRun } from '../../../src/eval/evaluate-run.js';
import { buildReport } from '../../../src/report/build-report.js';
import { percent } from '../../../src/metrics/metrics-table.js';
import { train, type EpochRecord, type RunInfo } from '../../../src/train/trainer.js';
import { validatePipeline } from '../../../src/config/pipeline.js';
import fashionMnist from '../../../pipelines/fashion-mnist.js';
import { parseSetArgument } from '../../../src/sweep/set-argument.js';
import type { SweepSummary } from '../../../src/sweep/summary.js';
import { runSweep } from '../../../src/sweep/sweep.js';
import { egtea } from '../../support/run-cli.js';
import { IN_CI } from '../../helpers.js';
import { smallPipeline, smallSyntheticDataset } from '../../synthetic-data.js';

const CHROMIUM = '/usr/bin/chromium';

/** Whether Chromium is here to render the reports: outside CI its absence skips those tests with the reason; under CI they run and fail. */
function chromiumAvailable(): boolean {
  if (fs.existsSync(CHROMIUM) || IN_CI) return true;
  console.warn(`skipping the tests that render reports in a browser: ${CHROMIUM} is absent (apt-get install chromium); under CI this fails`);
  return false;
}
const haveChromium = chromiumAvailable();
const ARTIFACTS = path.resolve('test-artifacts');

let work: string;
let cdbRun: string;
let ceRun: string;

/** The run's own files, read back as the report's reader does not: straight JSON. */
function runFiles(run: string) {
  const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')) as RunInfo;
  const history = fs
    .readFileSync(path.join(run, 'history.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EpochRecord);
  const evaluation = JSON.parse(fs.readFileSync(path.join(run, 'eval-test.json'), 'utf8')) as RunEvaluation;
  return { info, history, evaluation };
}

// Marks describe themselves as "field: value; field: value" (vega-lite's aria descriptions).
type Mark = Record<string, string>;
const parseMark = (label: string): Mark =>
  Object.fromEntries(label.split('; ').map((part) => [part.slice(0, part.indexOf(': ')), part.slice(part.indexOf(': ') + 2)]));
const shown = (value: number | null) => (value === null ? null : String(Number(value.toFixed(4))));
const has = (marks: Mark[], wanted: Mark) => marks.some((m) => Object.entries(wanted).every(([k, v]) => m[k] === v));

/**
 * Opens a report in headless Chromium (a fresh profile in the test's temp folder), checks that
 * it loaded with no console error, no failed request and no request but its own file, then
 * hands the page over.
 */
async function inChromium(file: string, check: (page: Page) => Promise<void>): Promise<void> {
  let browser: BrowserContext | undefined;
  try {
    browser = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(work, 'chromium-profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1400, height: 900 },
    });
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`failed request: ${request.url()}`));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    expect(problems).toEqual([]);
    expect(requests).toEqual([pathToFileURL(file).href]);
    await check(page);
    expect(problems).toEqual([]);
  } finally {
    await browser?.close();
  }
}

/** Every chart of an open report: its id, drawn size and the labels of its marks. */
async function drawnCharts(page: Page) {
  return page.$$eval('figure[data-chart]', (figures) =>
    figures.map((f) => {
      const svg = f.querySelector('svg')!;
      const box = svg.getBoundingClientRect();
      return {
        id: f.getAttribute('data-chart')!,
        width: box.width,
        height: box.height,
        marks: [...svg.querySelectorAll('[role="graphics-symbol"]')].map((m) => m.getAttribute('aria-label') ?? ''),
      };
    }),
  );
}

/** Where a chart's marks are drawn: each mark's label, kind and box on the page. */
async function drawnMarks(page: Page, chart: string) {
  return page.$$eval(`figure[data-chart="${chart}"] svg [role="graphics-symbol"][aria-roledescription]`, (marks) =>
    marks.map((m) => {
      const box = m.getBoundingClientRect();
      return {
        label: m.getAttribute('aria-label') ?? '',
        kind: m.getAttribute('aria-roledescription')!,
        top: box.top,
        bottom: box.bottom,
        x: box.left + box.width / 2,
        y: box.top + box.height / 2,
      };
    }),
  );
}

/** A chart's y axis: each numeric tick label's value and the height it is drawn at. */
async function yTicks(page: Page, chart: string) {
  const labels = await page.$$eval(`figure[data-chart="${chart}"] svg g[aria-label^="Y-axis"] text`, (texts) =>
    texts.map((t) => {
      const box = t.getBoundingClientRect();
      return { text: t.textContent ?? '', y: box.top + box.height / 2 };
    }),
  );
  return labels.filter((l) => /^-?\d+(\.\d+)?$/.test(l.text)).map((l) => ({ value: Number(l.text), y: l.y }));
}

beforeAll(async () => {
  const dataRoot = (await smallSyntheticDataset()).root;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-report-'));
  cdbRun = path.join(work, 'cdb <run> & "x"');
  ceRun = path.join(work, 'ce-run');
  // Two epochs with the learning rate divided after the first: the curves have a step to mark.
  const base = smallPipeline({ epochs: 2 });
  const cdb = validatePipeline({ ...base, schedule: { ...base.schedule, milestones: [1] } }, 'test');
  await train({ pipeline: cdb, dataRoot, out: cdbRun, graphStep: false });
  await train({ pipeline: smallPipeline({ epochs: 1, loss: { name: 'ce' } }), dataRoot, out: ceRun, graphStep: false });
  for (const run of [cdbRun, ceRun]) await evaluateRun({ run, split: 'test', groups: ['majority', 'minority'] });
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('egtea report', () => {
  it.skipIf(!haveChromium)(
    'writes one self-contained page that a browser renders with the runs\u2019 own numbers, and every chart as SVG and PNG',
    async () => {
      const out = path.join(work, 'report.html');
      const png = path.join(work, 'charts');
      const result = egtea(['report', cdbRun, ceRun, '--out', out, '--png', png, '--json']);
      expect(result.code, result.stderr).toBe(0);
      const document = JSON.parse(result.stdout) as { charts: { id: string }[] };
      const ids = document.charts.map((c) => c.id);
      expect(ids).toEqual(['classes', 'curves-1', 'curves-2', 'cdb-1', 'confusion-1', 'confusion-2', 'weights']);
      for (const id of ids) {
        expect(
          fs
            .readFileSync(path.join(png, `${id}.png`))
            .subarray(1, 4)
            .toString(),
        ).toBe('PNG');
        expect(fs.readFileSync(path.join(png, `${id}.svg`), 'utf8')).toMatch(/^<svg /);
      }
      const html = fs.readFileSync(out, 'utf8');
      expect(html).not.toContain('cdb <run>'); // the folder name is escaped
      expect(html).toContain('cdb &lt;run&gt; &amp; &quot;x&quot;');
      expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);

      const cdb = runFiles(cdbRun);
      const ce = runFiles(ceRun);
      await inChromium(out, async (page) => {
        const charts = await drawnCharts(page);
        expect(charts.map((c) => c.id)).toEqual(ids);
        for (const chart of charts) {
          expect(chart.width, chart.id).toBeGreaterThan(200);
          expect(chart.height, chart.id).toBeGreaterThan(100);
        }
        const marks = Object.fromEntries(charts.map((c) => [c.id, c.marks.map(parseMark)]));
        const cdbLabel = path.basename(cdbRun);

        // Classes: every class's training clips, and each run's test recall and precision.
        cdb.info.classes.forEach((name, c) => {
          expect(has(marks.classes!, { class: name, 'training clips': String(cdb.info.trainingCounts[c]) }), name).toBe(true);
          for (const [label, files] of [
            [cdbLabel, cdb],
            ['ce-run', ce],
          ] as const) {
            const result = files.evaluation.perClass[c]!;
            if (result.accuracy !== null)
              expect(has(marks.classes!, { class: name, series: `${label} recall`, 'recall / precision': shown(result.accuracy)! }), `${label} ${name}`).toBe(
                true,
              );
            if (result.precision !== null)
              expect(has(marks.classes!, { class: name, series: `${label} precision`, 'recall / precision': shown(result.precision)! })).toBe(true);
          }
        });
        // Curves: each epoch's loss and validation metrics; the learning-rate step at epoch 2.
        for (const record of cdb.history) {
          expect(has(marks['curves-1']!, { epoch: String(record.epoch), 'training loss': shown(record.trainLoss)! })).toBe(true);
          expect(
            has(marks['curves-1']!, {
              epoch: String(record.epoch),
              metric: 'minority macro recall',
              value: shown(record.validation.groups.minority.macroRecall)!,
            }),
          ).toBe(true);
          expect(has(marks['curves-1']!, { epoch: String(record.epoch), metric: 'top-1', value: shown(record.validation.top1)! })).toBe(true);
        }
        expect(cdb.history[1]!.learningRate).toBeLessThan(cdb.history[0]!.learningRate);
        expect(has(marks['curves-1']!, { epoch: '2', 'learning rate': String(cdb.history[1]!.learningRate) })).toBe(true);
        // CDB: tau and every class's difficulty and weight, per epoch.
        for (const record of cdb.history) {
          expect(has(marks['cdb-1']!, { epoch: String(record.epoch), tau: shown(record.cdb!.tau)! })).toBe(true);
          cdb.info.classes.forEach((name, c) => {
            expect(has(marks['cdb-1']!, { epoch: String(record.epoch), class: name, weight: shown(record.cdb!.weights[c]!)! })).toBe(true);
            const accuracy = record.validation.perClass[c]!.accuracy;
            if (accuracy !== null) expect(has(marks['cdb-1']!, { epoch: String(record.epoch), class: name, difficulty: shown(1 - accuracy)! })).toBe(true);
          });
        }
        // Confusion: each cell is its count over the true class's clips.
        cdb.evaluation.confusion.forEach((row, t) => {
          const total = row.reduce((a, b) => a + b, 0);
          row.forEach((count, p) => {
            if (total > 0)
              expect(has(marks['confusion-1']!, { true: cdb.info.classes[t]!, predicted: cdb.info.classes[p]!, fraction: shown(count / total)! })).toBe(true);
          });
        });
        // Weights against difficulty: d^tau.
        expect(has(marks.weights!, { tau: '2', 'difficulty d = 1 - A': '0.5', 'weight d^tau': '0.25' })).toBe(true);
        expect(has(marks.weights!, { tau: '0.5', 'difficulty d = 1 - A': '0.64', 'weight d^tau': '0.8' })).toBe(true);

        // The tables in the paper's layout, from the saved evaluations.
        const rows = await page.$$eval('#table-overall tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
        expect(rows.map((r) => r.slice(1))).toEqual(
          [cdb, ce].map((f) => [
            percent(f.evaluation.top1),
            percent(f.evaluation.top5),
            percent(f.evaluation.macroRecall),
            percent(f.evaluation.macroPrecision),
          ]),
        );
        expect(rows[0]![0]).toContain(cdbLabel);
        const groups = await page.$$eval('#table-groups tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((c) => c.textContent ?? '')));
        const metric = (f: typeof cdb, g: 'majority' | 'minority') => f.evaluation.groups[g]!;
        expect(groups).toEqual(
          [cdb, ce].map((f) => [
            percent(metric(f, 'majority').macroRecall),
            percent(metric(f, 'majority').macroPrecision),
            percent(metric(f, 'minority').macroRecall),
            percent(metric(f, 'minority').macroPrecision),
          ]),
        );

        fs.mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
      });
    },
  );

  it('names a folder that is not a run and a history line that is not JSON', async () => {
    await expect(buildReport([work])).rejects.toThrow(`${path.join(work, 'run.json')}: missing`);
    const broken = path.join(work, 'broken');
    fs.cpSync(ceRun, broken, { recursive: true });
    fs.appendFileSync(path.join(broken, 'history.jsonl'), '{"epoch": 2, trunc\n');
    await expect(buildReport([broken])).rejects.toThrow(`${path.join(broken, 'history.jsonl')}:2: not a JSON line`);
    const notHtml = egtea(['report', ceRun, '--out', path.join(work, 'report.svg')]);
    expect(notHtml.code).toBe(1);
    expect(notHtml.stderr).toContain('--out');
  });
});

// A real tiny sweep: CE and CDB at two majority ratios, two seeds each, a few epochs of LeNet-5
// on Fashion-MNIST's coat and pullover (Debian's dataset-fashion-mnist, which .ci/run installs).
const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const haveFashionMnist = fs.existsSync(FASHION_MNIST);

describe.runIf(haveFashionMnist || process.env.CI)('egtea report of a sweep', () => {
  let sweepDir: string;

  beforeAll(async () => {
    sweepDir = path.join(work, 'sweep <a> & "b"');
    const pipeline = validatePipeline(
      { ...fashionMnist, schedule: { ...fashionMnist.schedule, batchSize: 20, learningRate: 0.05, milestones: [] }, loader: { concurrency: 4, prefetch: 1 } },
      'test pipeline',
    );
    const summary = await runSweep({
      command: 'sweep',
      pipelineName: 'fashion-mnist',
      pipeline,
      grid: { losses: ['ce', 'cdb'], taus: ['dynamic'], sets: [parseSetArgument('dataset.majorityRatio=0.6,0.9')], seeds: [1, 2], epochs: 4 },
      out: sweepDir,
      dataRoot: 'unused',
      source: {
        dataset: 'mnist-imbalanced',
        dir: FASHION_MNIST,
        classes: { minority: 4, majority: 2 },
        sizes: { trainingImages: 60, validationPerClass: 10, testPerClass: 30 },
      },
      jobs: 2,
      baseline: 'ce',
    });
    expect(summary.failed).toEqual([]);
  }, 180_000);

  it.skipIf(!haveChromium)(
    'draws test error against the majority ratio per loss with the seed spread, and the paired differences, with the summary\u2019s numbers',
    async () => {
      const out = path.join(work, 'sweep-report.html');
      const png = path.join(work, 'sweep-charts');
      const result = egtea(['report', sweepDir, '--out', out, '--png', png, '--json']);
      expect(result.code, result.stderr).toBe(0);
      const document = JSON.parse(result.stdout) as { sweep: string; runs: string[]; charts: { id: string }[] };
      expect(document.sweep).toBe(sweepDir);
      expect(document.runs).toEqual([]);
      expect(document.charts.map((c) => c.id)).toEqual(['sweep-final', 'sweep-best']);
      for (const id of ['sweep-final', 'sweep-best']) {
        expect(
          fs
            .readFileSync(path.join(png, `${id}.png`))
            .subarray(1, 4)
            .toString(),
        ).toBe('PNG');
        expect(fs.readFileSync(path.join(png, `${id}.svg`), 'utf8')).toMatch(/^<svg /);
      }
      const html = fs.readFileSync(out, 'utf8');
      expect(html).not.toContain('sweep <a>');
      expect(html).toContain('sweep &lt;a&gt; &amp; &quot;b&quot;');
      expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);

      // The summary as the sweep wrote it, read here as plain JSON.
      const summary = JSON.parse(fs.readFileSync(path.join(sweepDir, 'summary.json'), 'utf8')) as SweepSummary;
      expect(summary.rows).toHaveLength(2 * 2 * 2);
      const ratio = (setting: string) => setting.replace('dataset.majorityRatio=', '');
      const drawn = (v: number) => String(Number((100 * v).toFixed(3)));
      const fixed = (v: number) => (100 * v).toFixed(2);

      await inChromium(out, async (page) => {
        const charts = await drawnCharts(page);
        expect(charts.map((c) => c.id)).toEqual(['sweep-final', 'sweep-best']);
        for (const model of ['final', 'best'] as const) {
          const chart = charts.find((c) => c.id === `sweep-${model}`)!;
          expect(chart.width).toBeGreaterThan(200);
          expect(chart.height).toBeGreaterThan(100);
          const marks = chart.marks.map(parseMark);
          const rows = summary.rows.filter((r) => r.model === model);
          for (const row of rows) {
            const at = { 'dataset.majorityRatio': ratio(row.setting), loss: row.variant, seeds: '2' };
            // The mean over seeds, and the bar from mean - std to mean + std.
            expect(has(marks, { ...at, 'test error (%)': drawn(row.testError.mean!) }), `${model} ${row.setting} ${row.variant}`).toBe(true);
            expect(
              has(marks, {
                ...at,
                'mean - std (%)': drawn(row.testError.mean! - row.testError.std!),
                'mean + std (%)': drawn(row.testError.mean! + row.testError.std!),
              }),
            ).toBe(true);
          }
          expect(marks.filter((m) => 'mean - std (%)' in m)).toHaveLength(rows.length);

          // Drawn where the numbers say: the y axis's ticks give the height of a percent; every
          // point and both ends of every bar sit there, and each bar stands on its loss's point.
          const ticks = await yTicks(page, `sweep-${model}`);
          expect(ticks.length).toBeGreaterThanOrEqual(2);
          const [first, last] = [ticks[0]!, ticks.at(-1)!];
          const pixel = (v: number) => first.y + ((v - first.value) * (last.y - first.y)) / (last.value - first.value);
          const boxes = await drawnMarks(page, `sweep-${model}`);
          const points = boxes.filter((b) => b.kind === 'point').map((b) => ({ ...b, mark: parseMark(b.label) }));
          const bars = boxes.filter((b) => b.kind === 'rule mark').map((b) => ({ ...b, mark: parseMark(b.label) }));
          expect(points).toHaveLength(rows.length);
          expect(bars).toHaveLength(rows.length);
          for (const p of points) expect(Math.abs(p.y - pixel(Number(p.mark['test error (%)']))), p.label).toBeLessThan(1.5);
          for (const bar of bars) {
            expect(Math.abs(bar.top - pixel(Number(bar.mark['mean + std (%)']))), bar.label).toBeLessThan(1.5);
            expect(Math.abs(bar.bottom - pixel(Number(bar.mark['mean - std (%)']))), bar.label).toBeLessThan(1.5);
            const point = points.find((p) => p.mark.loss === bar.mark.loss && p.mark['dataset.majorityRatio'] === bar.mark['dataset.majorityRatio'])!;
            expect(Math.abs(point.x - bar.x), bar.label).toBeLessThan(1.5);
          }

          // The tables: mean ± std, and each loss against CE paired by seed (losses down, ratios across).
          const errors = await page.$$eval(`#table-error-${model} tbody tr`, (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
          const paired = await page.$$eval(`#table-paired-${model} tbody tr`, (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
          const find = (variant: string, setting: string) => rows.find((r) => r.variant === variant && r.setting === setting)!;
          const settings = ['dataset.majorityRatio=0.6', 'dataset.majorityRatio=0.9'];
          expect(errors).toEqual(
            summary.variants.map((v) => [v, ...settings.map((s) => `${fixed(find(v, s).testError.mean!)} ± ${fixed(find(v, s).testError.std!)} (2 seeds)`)]),
          );
          expect(paired).toEqual(
            summary.variants.map((v) => [
              v,
              ...settings.map((s) => {
                const d = find(v, s).vsBaseline;
                return v === 'ce' ? 'baseline' : `${d!.meanDifference! > 0 ? '+' : ''}${fixed(d!.meanDifference!)} (${d!.wins}/${d!.seeds} won)`;
              }),
            ]),
          );
        }
        expect(await page.$$eval('#protocol li', (lis) => lis.map((li) => li.textContent))).toEqual(summary.protocol);
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: path.join(ARTIFACTS, 'sweep-report.png'), fullPage: true });
      });
    },
  );

  it('refuses a sweep folder given with runs, and names a missing summary', async () => {
    await expect(buildReport([sweepDir, ceRun])).rejects.toThrow(`${sweepDir}: a sweep folder gets a report of its own; give it alone`);
    const unsummarised = path.join(work, 'unsummarised');
    fs.mkdirSync(unsummarised);
    fs.copyFileSync(path.join(sweepDir, 'sweep.json'), path.join(unsummarised, 'sweep.json'));
    await expect(buildReport([unsummarised])).rejects.toThrow(
      `${path.join(unsummarised, 'summary.json')}: missing; rerun the egtea sweep (or egtea paper) command that made the folder with --no-run to write it`,
    );
  });
});
