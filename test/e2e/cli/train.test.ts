import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallSyntheticDataset } from '../../synthetic-data.js';
import { egtea } from '../../support/run-cli.js';

let dataRoot: string;
let work: string;

beforeAll(async () => {
  dataRoot = (await smallSyntheticDataset()).root;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-train-cli-'));
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** A user's pipeline module: the built-in synth recipe pointed at the test set, smaller clips. */
function writePipeline(name: string, epochs: number): string {
  const file = path.join(work, `${name}.mjs`);
  const synth = path.resolve('dist', 'pipelines', 'synth.js');
  fs.writeFileSync(
    file,
    `import synth from ${JSON.stringify(synth)};\n` +
      `export default { ...synth, name: ${JSON.stringify(name)}, dataset: { ...synth.dataset, annotations: 'annotations', frames: 'frames' },\n` +
      `  clips: { frames: 4, transform: { ...synth.clips.transform, size: 32 } }, schedule: { ...synth.schedule, epochs: ${epochs} } };\n`,
  );
  return file;
}

describe('egtea train', () => {
  it('runs a pipeline module, prints one JSON summary, and a second call resumes with nothing left to do', () => {
    const file = writePipeline('small', 1);
    const out = path.join(work, 'run');
    const run = egtea(['train', '--pipeline', file, '--data', dataRoot, '--out', out, '--loss', 'cdb', '--tau', '1', '--seed', '7', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const document = JSON.parse(run.stdout);
    expect(document.pipeline.seed).toBe(7);
    expect(document.pipeline.loss).toEqual({ name: 'cdb', tau: 1 });
    expect(document.epochs).toHaveLength(1);
    expect(document.epochs[0].seed).toBe(7);
    expect(run.stderr).toMatch(/epoch 1: loss \d/);
    expect(fs.existsSync(path.join(out, 'model.safetensors'))).toBe(true);
    const again = egtea(['train', '--pipeline', file, '--data', dataRoot, '--out', out, '--loss', 'cdb', '--tau', '1', '--seed', '7']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/resuming after epoch 1/);
  });

  it('killed (SIGKILL) after its first checkpoint, the same command finishes the run from there', async () => {
    const file = writePipeline('killed', 4);
    const out = path.join(work, 'killed');
    const args = [path.resolve('bin', 'egtea'), 'train', '--pipeline', file, '--data', dataRoot, '--out', out];
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    const checkpoint = path.join(out, 'checkpoint', 'state.json');
    const exited = new Promise((resolve) => child.on('exit', resolve));
    for (let waited = 0; !fs.existsSync(checkpoint) && waited < 120_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await exited;
    const finished = JSON.parse(fs.readFileSync(checkpoint, 'utf8')).epoch as number;
    expect(finished).toBeGreaterThanOrEqual(1);
    const rerun = egtea(['train', '--pipeline', file, '--data', dataRoot, '--out', out, '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toContain(`resuming after epoch ${finished}`);
    const document = JSON.parse(rerun.stdout);
    expect(document.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2, 3, 4]);
  });

  it('names what is wrong: an unknown pipeline, a bad tau, a data root without prepared frames', () => {
    const unknown = egtea(['train', '--pipeline', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown pipeline 'nope'; built in: egtea, synth/);
    // A loss setting's value is checked as the command line is parsed: a usage error.
    const tau = egtea(['train', '--tau', 'high', '--data', dataRoot]);
    expect(tau.code).toBe(2);
    expect(tau.stderr).toMatch(/option '--tau <value>' argument 'high' is invalid. 'high' must be a number >= 0 or 'dynamic'/);
    const empty = egtea(['train', '--data', work, '--out', path.join(work, 'x')]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/synth\/annotations: no such folder \(pipeline synth reads synth\/annotations under --data /);
    const images = egtea(['train', '--pipeline', 'mnist-imbalanced', '--data', work, '--out', path.join(work, 'y')]);
    expect(images.code).toBe(1);
    expect(images.stderr).toMatch(/mnist-imbalanced\/annotations: no such folder .*egtea images/);
  });
});
