import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PhasedProgress, Progress } from '../../src/util/progress.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-progress-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('Progress', () => {
  it('in a log: a line at every tenth of the work, with counts and rate', () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const progress = new Progress('prepare', 20, 'frames', stream as unknown as NodeJS.WriteStream);
    for (let i = 0; i < 20; i++) progress.tick(i === 3 ? 'failed' : i === 4 ? 'skipped' : 'done', 10);
    progress.finish();
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(11); // 0/20 is never printed: deciles 1..10 plus the first tick's
    expect(lines.at(-1)).toMatch(/^prepare: 20\/20 \(18 done, 1 skipped, 1 failed\)(, \d+ frames\/s)?, \d+s(, ETA \d+s)?$/);
    expect(text).not.toContain('\r');
  });

  it.skipIf(!hasScript)('on a terminal: a live bar redrawn in place, with rate and ETA', () => {
    // The built module, run under a real pseudo-terminal (util-linux script).
    const program = path.join(work, 'bar.mjs');
    fs.writeFileSync(
      program,
      `import { Progress } from ${JSON.stringify(path.join(ROOT, 'dist', 'src', 'util', 'progress.js'))};\n` +
        `const p = new Progress('synth', 8, 'frames');\n` +
        `for (let i = 0; i < 8; i++) { await new Promise((r) => setTimeout(r, 30)); p.tick('done', 50); }\np.finish();\n`,
    );
    const result = spawnSync('script', ['-qec', `${process.execPath} ${program}`, '/dev/null'], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/synth \[[█░]{24}\] 100% \| 8\/8 \| 8 done, \d+ frames\/s \| \d+s, ETA 0s/);
    expect(result.stdout).toMatch(/ETA \d+s/);
    expect(result.stdout).not.toContain('synth: 8/8');
    // Work that fails before finish() still lets the process end.
    fs.writeFileSync(
      program,
      `import { Progress } from ${JSON.stringify(path.join(ROOT, 'dist', 'src', 'util', 'progress.js'))};\nconst p = new Progress('synth', 8);\np.tick('done');\nprocess.exitCode = 3;\n`,
    );
    const failed = spawnSync('script', ['-qec', `${process.execPath} ${program}`, '/dev/null'], { encoding: 'utf8', timeout: 30_000 });
    expect(failed.status).toBe(3);
  });
});

describe('PhasedProgress', () => {
  it('in a log: one count per phase, work before a resume counted as skipped, other lines as they are', () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const progress = new PhasedProgress('clips', stream as unknown as NodeJS.WriteStream);
    // Resumed inside epoch 2 after batch 2 of 4: its first report is batch 3.
    progress.step('epoch 2/3 train', 3, 4, 8);
    progress.log('a line of the trainer');
    progress.step('epoch 2/3 train', 4, 4, 8);
    progress.step('epoch 2/3 validation', 1, 2, 8);
    progress.step('epoch 2/3 validation', 2, 2, 4);
    progress.finish();
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^epoch 2\/3 train: 2\/4 \(0 done, 2 skipped, 0 failed\)(, 0 clips\/s)?, \d+s$/);
    expect(lines[1]).toMatch(/^epoch 2\/3 train: 3\/4 \(1 done, 2 skipped, 0 failed\)(, \d+ clips\/s)?, \d+s(, ETA \d+s)?$/);
    expect(lines).toContain('a line of the trainer');
    expect(lines.filter((l) => l.startsWith('epoch 2/3 train: 4/4 (2 done, 2 skipped, 0 failed)'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('epoch 2/3 validation: 2/2 (2 done, 0 skipped, 0 failed)'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^epoch 2\/3 validation: 2\/2 /);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape codes a terminal bar writes
    expect(text).not.toMatch(/\r|\x1b\[/);
  });

  it('with lines off, a log gets only the other lines', () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const progress = new PhasedProgress('clips', stream as unknown as NodeJS.WriteStream, { lines: false });
    progress.step('epoch 1/1 train', 1, 2, 8);
    progress.log('epoch 1/1: batch 1/2, loss 0.5');
    progress.step('epoch 1/1 train', 2, 2, 8);
    progress.finish();
    expect(text).toBe('epoch 1/1: batch 1/2, loss 0.5\n');
  });
});
