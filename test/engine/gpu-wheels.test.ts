import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the installer, without type declarations
import { cudaRequirements, nvidiaLibraries, WHEEL_TARGET } from '../../bin/gpu-wheels.mjs';
import { loadKernels } from '../../src/engine/kernels.js';

const made: string[] = [];
afterAll(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

describe('egtea engine install --gpu: the NVIDIA libraries of the CUDA wheel', () => {
  it("takes the NVIDIA requirements of TensorFlow's and-cuda extra, and nothing else", () => {
    // Requires-Dist lines as tensorflow 2.21.0's metadata states them (abridged).
    const lines = [
      'absl-py>=1.0.0',
      'numpy>=1.26.0',
      'nvidia-cublas-cu12<13.0,>=12.5.3.2; extra == "and-cuda"',
      'nvidia-cudnn-cu12<10.0,>=9.3.0.75; extra == "and-cuda"',
      "nvidia-nccl-cu12<3.0,>=2.27.7; extra == 'and-cuda'",
      'nvidia-something-cu12; extra == "other"',
      'tensorflow-io-gcs-filesystem>=0.23.1; python_version < "3.12"',
    ];
    expect(cudaRequirements(lines)).toEqual(['nvidia-cublas-cu12<13.0,>=12.5.3.2', 'nvidia-cudnn-cu12<10.0,>=9.3.0.75', 'nvidia-nccl-cu12<3.0,>=2.27.7']);
  });

  it('asks pip for one Python and manylinux platforms, binaries only, whatever Python runs it', () => {
    expect(WHEEL_TARGET).toEqual(
      expect.arrayContaining(['--only-binary=:all:', '--python-version', '--platform', 'manylinux_2_27_x86_64', 'manylinux2014_x86_64']),
    );
  });

  it('lists the shared libraries of an extracted nvidia/ tree, not its headers or other files', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-nvidia-'));
    made.push(root);
    for (const file of [
      'nvidia/cublas/lib/libcublas.so.12',
      'nvidia/cublas/lib/libcublasLt.so.12',
      'nvidia/cublas/include/cublas.h',
      'nvidia/cudnn/lib/libcudnn.so.9',
      'nvidia/cudnn/lib/__init__.py',
    ]) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), '');
    }
    expect(nvidiaLibraries(root).map((f: string) => path.relative(root, f))).toEqual([
      'nvidia/cublas/lib/libcublas.so.12',
      'nvidia/cublas/lib/libcublasLt.so.12',
      'nvidia/cudnn/lib/libcudnn.so.9',
    ]);
  });

  it.skipIf(loadKernels() === null)("preloads libraries by path and names each one that does not load, with the loader's reason", () => {
    const k = loadKernels()!;
    const missing = path.join(os.tmpdir(), 'egtea-no-such-library.so.1');
    const notElf = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-preload-'));
    made.push(notElf);
    const bogus = path.join(notElf, 'libbogus.so.1');
    fs.writeFileSync(bogus, 'not a shared object');
    const failures = k.preloadLibraries(['libm.so.6', missing, bogus]);
    expect(Object.keys(failures).sort()).toEqual([bogus, missing].sort());
    expect(failures[missing]).toMatch(/No such file/);
    expect(failures[bogus]).toMatch(/invalid ELF header|file too short/);
  });
});
