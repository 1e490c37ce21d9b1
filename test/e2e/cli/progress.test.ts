import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { temporaryFolder } from '../../helpers.js';
import { writeCifar10Source } from '../../image-sources.js';
import { smallSyntheticDataset } from '../../synthetic-data.js';
import { egtea } from '../../support/run-cli.js';

// Progress of the long commands as a user sees it: piped (a log, as in CI) the lines at every
// tenth of the work, and never a terminal's control characters; under a real pseudo-terminal
// (util-linux script) a live bar. --json keeps stdout to one JSON document.

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape codes a terminal bar writes
const TERMINAL_CONTROL = /\r|\x1b\[/;

let work: string;
let dataRoot: string;
let run: string;
let pipelineFile: string;

/** The built-in synth recipe pointed at the small test set, smaller clips, `epochs` epochs. */
function writePipeline(epochs: number): string {
  const file = path.join(work, `small-${epochs}.mjs`);
  const synth = path.resolve('dist', 'pipelines', 'synth.js');
  fs.writeFileSync(
    file,
    `import synth from ${JSON.stringify(synth)};\n` +
      `export default { ...synth, name: 'small', dataset: { ...synth.dataset, annotations: 'annotations', frames: 'frames' },\n` +
      `  clips: { frames: 4, transform: { ...synth.clips.transform, size: 32 } }, schedule: { ...synth.schedule, batchSize: 8, accumulation: 1, epochs: ${epochs} } };\n`,
  );
  return file;
}

/** Runs the built command under a pseudo-terminal: what the terminal showed (stdout and stderr together). */
function egteaOnTerminal(args: string[]): { code: number | null; screen: string } {
  const command = [process.execPath, path.resolve('bin', 'egtea'), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, screen: result.stdout };
}

beforeAll(async () => {
  dataRoot = (await smallSyntheticDataset()).root;
  work = temporaryFolder('egtea-progress-cli-');
  run = path.join(work, 'run');
  pipelineFile = writePipeline(1);
});

describe('progress of long commands', () => {
  it('train and eval in a log: no terminal assumed, eval\u2019s line at every tenth of its batches, one JSON document on stdout', () => {
    const trained = egtea(['train', '--pipeline', pipelineFile, '--data', dataRoot, '--out', run, '--loss', 'ce', '--json']);
    expect(trained.code, trained.stderr).toBe(0);
    expect(JSON.parse(trained.stdout).epochs).toHaveLength(1);
    expect(trained.stderr).not.toMatch(TERMINAL_CONTROL);
    // In a log, training keeps the trainer's own lines (loss, clips/s), and no bar's text.
    expect(trained.stderr).toMatch(/^epoch 1\/1: batch \d+\/\d+, loss \d/m);
    expect(trained.stderr).not.toContain('epoch 1/1 train');

    const evaluated = egtea(['eval', '--run', run, '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const evaluation = JSON.parse(evaluated.stdout) as { clips: number };
    expect(evaluated.stderr).not.toMatch(TERMINAL_CONTROL);
    const batches = Math.ceil(evaluation.clips / 8);
    const lines = evaluated.stderr.split('\n').filter((l) => l.startsWith('eval test: '));
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.length).toBeLessThanOrEqual(11);
    for (const line of lines)
      expect(line).toMatch(new RegExp(`^eval test: (\\d+)/${batches} \\(\\1 done, 0 skipped, 0 failed\\)(, \\d+ clips/s)?, \\d+s(, ETA \\d+s)?$`));
    expect(lines.at(-1)).toMatch(new RegExp(`^eval test: ${batches}/${batches} \\(${batches} done, 0 skipped, 0 failed\\), \\d+ clips/s, \\d+s$`));
    // The counts only grow, and the other log line comes before the first count.
    const counts = lines.map((l) => Number(/: (\d+)\//.exec(l)![1]));
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    expect(evaluated.stderr.indexOf(`evaluating ${run} on ${evaluation.clips} test clips`)).toBeLessThan(evaluated.stderr.indexOf('eval test: '));
  });

  it.skipIf(!hasScript)('on a terminal: a bar for eval, and for each epoch\u2019s training and validation', () => {
    const evaluated = egteaOnTerminal(['eval', '--run', run]);
    expect(evaluated.code, evaluated.screen).toBe(0);
    expect(evaluated.screen).toMatch(/eval test \[[█░]{24}\] 100% \| (\d+)\/\1 \| \1 done, \d+ clips\/s \| \d+s, ETA 0s/);
    expect(evaluated.screen).not.toContain('eval test: ');

    // A second epoch of the same run: it resumes, and draws that epoch's bars.
    const trained = egteaOnTerminal(['train', '--pipeline', writePipeline(2), '--data', dataRoot, '--out', run, '--loss', 'ce']);
    expect(trained.code, trained.screen).toBe(0);
    expect(trained.screen).toContain('resuming after epoch 1');
    expect(trained.screen).toMatch(/epoch 2\/2 train \[[█░]{24}\] \d+% \| \d+\/\d+ \| \d+ done, \d+ clips\/s/);
    expect(trained.screen).toMatch(/epoch 2\/2 validation \[[█░]{24}\] \d+% \| \d+\/\d+ \| \d+ done/);
    expect(trained.screen).not.toContain('epoch 1/2 train');
    // The trainer's own lines still reach the terminal, above the bar.
    expect(trained.screen).toMatch(/epoch 2: loss \d/);
  });

  it('images and sweep in a log: the images written and the cells finished, skipped on a rerun', async () => {
    const source = path.join(work, 'cifar-10-batches-bin');
    await writeCifar10Source(source, { train: 60, test: 2 });
    const imagesArgs = ['images', '--dataset', 'cifar10-lt', '--source', source, '--out', path.join(work, 'cifar10-lt'), '--imbalance', '5', '--json'];
    const images = egtea(imagesArgs);
    expect(images.code, images.stderr).toBe(0);
    const built = JSON.parse(images.stdout) as { written: number; skipped: number };
    expect(images.stderr).not.toMatch(TERMINAL_CONTROL);
    const imageLines = images.stderr.split('\n').filter((l) => l.startsWith('images: '));
    expect(imageLines.length).toBeGreaterThan(1);
    expect(imageLines.length).toBeLessThanOrEqual(11);
    expect(imageLines.at(-1)).toMatch(
      new RegExp(`^images: ${built.written}/${built.written} \\(${built.written} done, 0 skipped, 0 failed\\), \\d+ images/s, \\d+s$`),
    );
    const rebuilt = egtea(imagesArgs);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toMatch(
      new RegExp(`^images: ${built.written}/${built.written} \\(0 done, ${built.written} skipped, 0 failed\\), 0 images/s, \\d+s$`, 'm'),
    );

    const out = path.join(work, 'sweep');
    const args = [
      'sweep',
      '--pipeline',
      'mnist-imbalanced',
      '--loss',
      'ce',
      '--seeds',
      '1',
      '--epochs',
      '1',
      '--source',
      'mnist-package',
      '--set',
      'dataset.majorityRatio=0.9',
      '--out',
      out,
      '--json',
    ];
    const swept = egtea(args);
    expect(swept.code, swept.stderr).toBe(0);
    expect(JSON.parse(swept.stdout).rows).toHaveLength(2);
    expect(swept.stderr).not.toMatch(TERMINAL_CONTROL);
    expect(swept.stderr).toMatch(/^\[1\/1\] dataset\.majorityRatio=0\.9,seed=1,loss=ce: test error /m);
    expect(swept.stderr).toMatch(/^egtea sweep: cells: 1\/1 \(1 done, 0 skipped, 0 failed\), \d+s$/m);
    const again = egtea(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^egtea sweep: cells: 1\/1 \(0 done, 1 skipped, 0 failed\), \d+s$/m);
  });
});
