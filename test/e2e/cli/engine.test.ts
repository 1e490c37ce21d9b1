import { describe, expect, it } from 'vitest';
import { egtea } from '../../support/run-cli.js';

describe('egtea engine', () => {
  it('reports the backend, TensorFlow version, device and threads as JSON', () => {
    const run = egtea(['engine', '--json']);
    expect(run.code).toBe(0);
    const info = JSON.parse(run.stdout);
    expect(['tensorflow', 'cpu']).toContain(info.backend);
    expect(info.threads.cores).toBeGreaterThan(0);
    expect(info).toHaveProperty('groupedConv3d');
    // The native engine egtea installs carries the binding patch that graph steps need, on any device.
    expect(info.graphSteps).toBe(info.backend === 'tensorflow');
    expect(['cpu', 'gpu']).toContain(info.device);
    // egtea's CPU kernels never run on a GPU's tensors.
    if (info.device === 'gpu') expect(Object.values(info.implementations)).not.toContain('egtea-kernel');
  });

  it('runs on the pure-JS backend when asked, and refuses an unknown one with the choices', () => {
    expect(JSON.parse(egtea(['--backend', 'cpu', 'engine', '--json']).stdout)).toMatchObject({ backend: 'cpu', graphSteps: false });
    // A wrong choice is a usage error, named with the choices.
    const bad = egtea(['--backend', 'gpu', 'engine']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'gpu' is invalid\. Allowed choices are auto, tensorflow, cpu/);
  });

  it('checks itself: ops against TensorFlow, then a training step as a function against the eager step, as one JSON document', () => {
    const run = egtea(['engine', 'check', '--json', '--arch', 'resnext3d-tiny', '--frames', '2', '--size', '16', '--reps', '1']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.ok).toBe(true);
    expect(report.step).toMatchObject({ arch: 'resnext3d-tiny', batch: 2, ok: true, nodes: expect.any(Number) });
    expect(report.step.loss.function).toBeCloseTo(report.step.loss.eager, 4);
    expect(report.step.worstUpdate.error).toBeLessThan(report.step.tolerance);
    expect(report.step.clipsPerSecond).toBeGreaterThan(0);
    expect(report.step.peakRssMiB).toBeGreaterThan(0);
    for (const op of report.ops) expect(op.ok, op.op).toBe(true);
    const bad = egtea(['engine', 'check', '--arch', 'lenet5']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--arch lenet5: the step check takes a 3D-ResNeXt/);
  });

  it('says what is missing, and how to install it, when the native engine is demanded but absent', () => {
    const run = egtea(['--backend', 'tensorflow', 'engine'], { EGTEA_NATIVE_PACKAGE: '@tensorflow/not-installed' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the native TensorFlow engine is not available \(Cannot find package '@tensorflow\/not-installed'/);
    expect(run.stderr).toMatch(/npx egtea engine install/);
    // auto falls back to pure JS, loudly.
    const auto = egtea(['engine', '--json'], { EGTEA_NATIVE_PACKAGE: '@tensorflow/not-installed' });
    expect(auto.code).toBe(0);
    expect(JSON.parse(auto.stdout).backend).toBe('cpu');
    expect(auto.stderr).toMatch(/WARNING: native TensorFlow is not available/);
  });
});

describe("egtea's environment variables", () => {
  it('a thread count TensorFlow aborts on (-1) or stalls on (100000) is refused before it loads, naming the variable, as is garbage in any listed one', () => {
    for (const value of ['-1', '100000']) {
      const run = egtea(['engine'], { TF_NUM_INTRAOP_THREADS: value });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(
          `^egtea: TF_NUM_INTRAOP_THREADS="${value}": must be a whole number of threads from 0 to \\d+ \\(8 per core on this machine\\); 0 is TensorFlow's own choice \\(.*\\); fix or unset it\n$`,
        ),
      );
    }
    const several = egtea(['engine'], { EGTEA_KERNELS: 'yes', CUDA_VISIBLE_DEVICES: 'first', TF_CPP_MIN_LOG_LEVEL: '9' });
    expect(several.code).toBe(2);
    expect(
      several.stderr
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0]),
    ).toEqual(['egtea: EGTEA_KERNELS', 'egtea: TF_CPP_MIN_LOG_LEVEL', 'egtea: CUDA_VISIBLE_DEVICES']);
  });

  it('a misspelt EGTEA_ variable is named with the one meant, and the command runs', () => {
    const run = egtea(['engine', '--json'], { EGTEA_KERNEL: '0' });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('egtea: warning: EGTEA_KERNEL is not a variable egtea reads (did you mean EGTEA_KERNELS?); it has no effect');
  });
});
