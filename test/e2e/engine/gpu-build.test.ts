import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { egtea } from '../../support/run-cli.js';
import { distributedTestPipeline } from '../../distributed/test-pipeline.js';
import { IN_CI, temporaryFolder, worstRelativeWeights } from '../../helpers.js';
import { noiseBound } from '../../noise-floor.js';
import { smallSyntheticDataset } from '../../synthetic-data.js';

// The GPU build of the engine (`egtea engine install --gpu`: TensorFlow's CUDA build, its NVIDIA
// libraries, the patched binding) as far as a machine without a GPU takes it: on its CPU
// device, when asked. It is built in its own folder (--engine-dir), so the project's CPU engine
// stays as it is, and loaded with EGTEA_NATIVE_PACKAGE. Only TensorFlow's CUDA kernels go untried.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ENGINE_DIR = path.join(ROOT, 'test-artifacts', 'gpu-engine');
const CACHE = process.env.EGTEA_CACHE || path.join(os.homedir(), '.cache', 'egtea');

function gpuEngineBuilt(): boolean {
  try {
    return JSON.parse(fs.readFileSync(path.join(ENGINE_DIR, 'egtea-engine.json'), 'utf8')).gpu === true;
  } catch {
    return false;
  }
}

/** Whether the NVIDIA wheels' libraries are in the egtea cache already (the 6 GB download is done). */
function wheelsCached(): boolean {
  const nvidia = path.join(CACHE, 'nvidia');
  return fs.existsSync(nvidia) && fs.readdirSync(nvidia).some((d) => d.startsWith('tensorflow-') && fs.existsSync(path.join(nvidia, d, '.complete')));
}

/**
 * Runs when the GPU build is built, or can be from the cache, or under CI (which caches the
 * egtea cache; its first run downloads about 6 GB). Elsewhere it skips, saying how to run it.
 */
function gpuBuildTestable(): boolean {
  if (gpuEngineBuilt() || wheelsCached() || IN_CI) return true;
  console.warn(
    `skipping the GPU build's test: its wheels (about 6 GB) are not in ${CACHE}; ` +
      `build it once with: egtea engine install --gpu --engine-dir ${path.relative(process.cwd(), ENGINE_DIR)} (under CI the test downloads them)`,
  );
  return false;
}

describe.runIf(gpuBuildTestable())('the GPU build on its CPU device', () => {
  let work: string;
  let dataRoot: string;
  let pipelineFile: string;
  const onCpu = { EGTEA_NATIVE_PACKAGE: ENGINE_DIR, EGTEA_GPU_BUILD_ON_CPU: '1' };

  beforeAll(async () => {
    if (!gpuEngineBuilt()) {
      const install = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'install-engine.mjs'), '--required', '--gpu', '--engine-dir', ENGINE_DIR], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Where PyPI cannot be reached the download cannot be had: say so (under CI, fail).
      if (install.status !== 0) throw new Error(`egtea engine install --gpu --engine-dir ${ENGINE_DIR} failed:\n${install.stderr.slice(-3000)}`);
    }
    work = temporaryFolder('egtea-gpu-build-');
    dataRoot = (await smallSyntheticDataset()).root;
    pipelineFile = path.join(work, 'pipeline.json');
    fs.writeFileSync(pipelineFile, JSON.stringify(distributedTestPipeline(1)));
  }, 3_600_000);

  it('refuses to fall back to the CPU, naming libcuda.so.1 and the variable that allows it', () => {
    const run = egtea(['engine'], { EGTEA_NATIVE_PACKAGE: ENGINE_DIR });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/installed for a GPU .* but TensorFlow runs on the CPU: these libraries did not load: libcuda\.so\.1/);
    expect(run.stderr).toContain('EGTEA_GPU_BUILD_ON_CPU=1');
  });

  it('runs on its CPU device when asked: engine, engine check and a short train agree with the CPU build', async () => {
    const engine = egtea(['engine', '--json'], onCpu);
    expect(engine.code, engine.stderr).toBe(0);
    expect(JSON.parse(engine.stdout)).toMatchObject({
      backend: 'tensorflow',
      device: 'cpu',
      gpuBuildOnCpu: true,
      wheel: 'tensorflow==2.21.0',
      graphSteps: true,
    });

    const check = egtea(['engine', 'check', '--json', '--arch', 'resnext3d-tiny', '--frames', '2', '--size', '16', '--reps', '1'], onCpu);
    expect(check.code, check.stderr).toBe(0);
    const report = JSON.parse(check.stdout);
    expect(report.ok).toBe(true);
    expect(report.ops.length).toBeGreaterThan(0);

    // One epoch (2 steps) with each build, and the CPU build op by op: its difference from the
    // CPU build's graph is the noise floor (libtensorflow's CUDA and CPU builds are compiled apart).
    const train = (out: string, env: Record<string, string>, extra: string[] = []) => {
      const run = egtea(['--backend', 'tensorflow', 'train', '--pipeline', pipelineFile, '--data', dataRoot, '--out', path.join(work, out), ...extra], env);
      expect(run.code, `${out}: ${run.stderr.slice(-3000)}`).toBe(0);
      return run;
    };
    const gpuBuild = train('gpu-build', onCpu);
    // Its steps run as graphs (recorded ones too), not op by op.
    expect(gpuBuild.stderr).not.toMatch(/training steps run op by op/);
    train('cpu-build', {});
    train('cpu-build-eager', {}, ['--no-graph-step']);
    const [gpu, cpu, eager] = await Promise.all(
      ['gpu-build', 'cpu-build', 'cpu-build-eager'].map((o) => readSafetensors(path.join(work, o, 'model.safetensors'))),
    );
    const floor = worstRelativeWeights(cpu!, eager!);
    const difference = worstRelativeWeights(cpu!, gpu!);
    console.log(`GPU build on the CPU against the CPU build: ${difference.toExponential(2)}; noise floor (graph against op by op): ${floor.toExponential(2)}`);
    expect(difference).toBeLessThanOrEqual(noiseBound(floor));
  });
});
