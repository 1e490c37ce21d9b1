import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../src/distributed/ports.js';
import { nativeBackend } from '../../src/engine/native-backend.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { train, type EpochRecord } from '../../src/train/trainer.js';
import { temporaryFolder } from '../helpers.js';
import { smallSyntheticDataset } from '../synthetic-data.js';
import { distributedTestPipeline } from './test-pipeline.js';
import { REPO, runNode, runScript } from './spawn-workers.js';

let dataRoot: string;
let work: string;
beforeAll(async () => {
  dataRoot = (await smallSyntheticDataset()).root;
  work = temporaryFolder('egtea-dist-');
  if (nativeBackend() === null) return;
  // The reference: one process accumulating 2 micro-batches a step (the pipeline's); its
  // weights after epoch 1 are kept (a resumed run trains as an uninterrupted one).
  const single = path.join(work, 'single');
  await train({ pipeline: distributedTestPipeline(1), dataRoot, out: single });
  await fs.copyFile(path.join(single, 'model.safetensors'), path.join(work, 'single-epoch1.safetensors'));
  await train({ pipeline: distributedTestPipeline(2), dataRoot, out: single });
});

async function history(out: string): Promise<EpochRecord[]> {
  return (await fs.readFile(path.join(out, 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as EpochRecord);
}

describe.runIf(nativeBackend() !== null)('data-parallel training over TensorFlow collectives', () => {
  it('2 workers train to the weights of one process accumulating their two shards, with the same CDB weights', async () => {
    const single = path.join(work, 'single');
    const parallel = path.join(work, 'parallel');
    // The pipeline accumulates 2 micro-batches a step: one per worker.
    const addresses = (await freePorts(2)).map((p) => `localhost:${p}`);
    const runs = await Promise.all([0, 1].map((task) => runScript('train-worker.ts', [String(task), dataRoot, parallel, '2', ...addresses])));
    runs.forEach((r, task) => expect(r.code, `task ${task}:\n${r.stderr.slice(-3000)}`).toBe(0));

    const [a, b] = await Promise.all([single, parallel].map((out) => readSafetensors(path.join(out, 'model.safetensors'))));
    const { worst, moved } = compareWeights(a!, b!);
    console.log(`worst relative difference: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    // The running statistics did move (so their combination across workers is tested).
    expect(moved).toBeGreaterThan(1e-3);

    // CDB's weights: exactly the single process's, on both workers and in the chief's history.
    const expected = (await history(single)).map((r) => r.cdb);
    expect((await history(parallel)).map((r) => r.cdb)).toEqual(expected);
    for (const r of runs) expect(JSON.parse(r.stdout.trim().split('\n').pop()!).cdb).toEqual(expected);
    expect((await history(parallel)).map((r) => r.trainLoss)).toEqual((await history(single)).map((r) => expect.closeTo(r.trainLoss, 5)));
  });

  it('a killed worker stops the others with a message naming it, and the same command resumes to the weights of an uninterrupted run', async () => {
    const pipelineFile = path.join(work, 'pipeline.json');
    await fs.writeFile(pipelineFile, JSON.stringify(distributedTestPipeline(1)));
    const out = path.join(work, 'killed');
    // Op by op: these few steps would all be recordings (the equivalence test covers graph steps).
    const command = ['--import', 'tsx', path.join(REPO, 'test', 'distributed', 'cli-entry.ts'), '--backend', 'tensorflow', 'train', '--pipeline', pipelineFile, '--data', dataRoot, '--out', out, '--workers', '2', '--checkpoint-minutes', '0', '--no-graph-step'];
    const supervisor = spawn(process.execPath, command, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let workerPid = 0;
    let killedAt = 0;
    readline.createInterface({ input: supervisor.stderr! }).on('line', (line) => {
      lines.push(line);
      workerPid ||= Number(/^worker 1: pid (\d+)/.exec(line)?.[1] ?? 0);
      // Mid-epoch: after the chief trained (and checkpointed) the first of the epoch's two batches.
      if (killedAt === 0 && line.startsWith('epoch 1/1: batch 1/2')) {
        killedAt = Date.now();
        process.kill(workerPid, 'SIGKILL');
      }
    });
    const code = await new Promise<number | null>((resolve) => supervisor.on('close', (c) => resolve(c)));
    const stderr = lines.join('\n');
    expect(killedAt, stderr).toBeGreaterThan(0);
    expect(Date.now() - killedAt).toBeLessThan(60_000);
    expect(code, stderr).toBe(1);
    expect(stderr).toContain(`worker 1 (pid ${workerPid}) was killed by SIGKILL`);
    expect(stderr).toMatch(/run the same command again to resume/);

    const rerun = await runNode(command);
    expect(rerun.code, rerun.stderr.slice(-3000)).toBe(0);
    expect(rerun.stderr, rerun.stderr).toMatch(/resuming epoch 1 after batch 1 from /);
    const [a, b] = await Promise.all([path.join(work, 'single-epoch1.safetensors'), path.join(out, 'model.safetensors')].map((f) => readSafetensors(f)));
    expect(compareWeights(a!, b!).worst).toBeLessThan(1e-5);
    expect((await history(out)).map((r) => r.cdb)).toEqual((await history(path.join(work, 'single'))).slice(0, 1).map((r) => r.cdb));
  });
});

type Weights = Map<string, { data: ArrayLike<number> }>;

/** The largest difference of any tensor relative to its largest value (at least 1e-3, so values near zero do not inflate it). */
function compareWeights(a: Weights, b: Weights): { worst: number; moved: number } {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  let worst = 0;
  let moved = 0;
  for (const [name, expected] of a) {
    const actual = b.get(name)!;
    let scale = 1e-3;
    let diff = 0;
    Array.from(expected.data).forEach((v, i) => {
      scale = Math.max(scale, Math.abs(v));
      diff = Math.max(diff, Math.abs(v - actual.data[i]!));
    });
    worst = Math.max(worst, diff / scale);
    if (name.endsWith('running_mean')) moved = Math.max(moved, scale);
  }
  return { worst, moved };
}
