import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { beforeAll, describe, expect, it } from 'vitest';
import { nativeBackend } from '../../src/engine/native-backend.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { train, type EpochRecord } from '../../src/train/trainer.js';
import { temporaryFolder } from '../helpers.js';
import { smallSyntheticDataset } from '../synthetic-data.js';
import { distributedTestPipeline } from './test-pipeline.js';
import { REPO, runNode } from './spawn-workers.js';

let dataRoot: string;
let work: string;
beforeAll(async () => {
  dataRoot = (await smallSyntheticDataset()).root;
  work = temporaryFolder('egtea-dist-');
});

async function history(out: string): Promise<EpochRecord[]> {
  return (await fs.readFile(path.join(out, 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as EpochRecord);
}

// One scenario covers the two goals in the time of one run (the test budget is tight):
// `train --workers 2` is killed mid-epoch, the same command resumes, and after 2 epochs the
// weights are those of one process accumulating the two shards as micro-batches.
// Op by op: its few steps would all be recordings (all-reduce.test.ts runs a collective inside
// a graph step).
describe.runIf(nativeBackend() !== null)('data-parallel training over TensorFlow collectives', () => {
  it('2 workers: a killed worker stops the other with a message naming it; the same command resumes; the weights match one process accumulating both shards', async () => {
    const single = path.join(work, 'single');
    await train({ pipeline: distributedTestPipeline(2), dataRoot, out: single, graphStep: false });

    const pipelineFile = path.join(work, 'pipeline.json');
    await fs.writeFile(pipelineFile, JSON.stringify(distributedTestPipeline(2)));
    const out = path.join(work, 'parallel');
    const command = ['--import', 'tsx', path.join(REPO, 'test', 'distributed', 'cli-entry.ts'), '--backend', 'tensorflow', 'train', '--pipeline', pipelineFile, '--data', dataRoot, '--out', out, '--workers', '2', '--checkpoint-minutes', '0', '--no-graph-step'];
    const supervisor = spawn(process.execPath, command, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let workerPid = 0;
    let killedAt = 0;
    readline.createInterface({ input: supervisor.stderr! }).on('line', (line) => {
      lines.push(line);
      workerPid ||= Number(/^worker 1: pid (\d+)/.exec(line)?.[1] ?? 0);
      // Mid-epoch: after the chief trained (and checkpointed) the first of the epoch's two batches.
      if (killedAt === 0 && line.startsWith('epoch 1/2: batch 1/2')) {
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

    const [a, b] = await Promise.all([single, out].map((o) => readSafetensors(path.join(o, 'model.safetensors'))));
    const { worst, moved } = compareWeights(a!, b!);
    console.log(`worst relative difference: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    // The running statistics did move (so their combination across workers is tested).
    expect(moved).toBeGreaterThan(1e-3);
    // CDB's weights exactly the single process's (every worker asserted it holds the chief's).
    expect((await history(out)).map((r) => r.cdb)).toEqual((await history(single)).map((r) => r.cdb));
    expect((await history(out)).map((r) => r.trainLoss)).toEqual((await history(single)).map((r) => expect.closeTo(r.trainLoss, 5)));
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
