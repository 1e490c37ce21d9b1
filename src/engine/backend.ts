import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors.js';
import { bindingDevice, currentImplementations, resolveGroupedConvImpl, type Device, type Implementations } from './dispatch.js';
import { kernelOpsAvailable } from './kernel-ops.js';
import { KERNEL_ADDON_PATH, loadKernels, withCapturedStderr } from './kernels.js';
import { environmentValue } from '../util/environment.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface EngineInfo {
  backend: 'tensorflow' | 'cpu';
  requested: BackendChoice;
  /** Where TensorFlow puts tensors, as the binding reports it. */
  device: Device;
  tfjsVersion: string;
  tensorflowVersion: string | null;
  /** The wheel libtensorflow came from, as recorded by `egtea engine install`. */
  wheel: string | null;
  /** A GPU build (engine install --gpu) running on its CPU device, as EGTEA_GPU_BUILD_ON_CPU=1 allows. */
  gpuBuildOnCpu: boolean;
  /** The grouped conv3d path `auto` takes here. */
  groupedConv3d: Implementations['groupedConv3d'];
  /** Whether training steps run as one TensorFlow function here (patched binding). */
  graphSteps: boolean;
  /** What src/engine/dispatch.ts chooses for each op with several implementations. */
  implementations: Implementations;
  threads: { cores: number; intraOp: string; interOp: string };
  warning: string | null;
}

export function parseBackendChoice(value: string | undefined): BackendChoice {
  const choice = value ?? environmentValue('EGTEA_BACKEND') ?? 'auto';
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new UserError(`unknown backend '${choice}'; choose one of: ${BACKEND_CHOICES.join(', ')}`);
  }
  return choice as BackendChoice;
}

const INSTALL_HINT =
  'run `npx egtea engine install` (it takes libtensorflow from the TensorFlow wheel through pip and compiles the binding; needs python3 with pip, a C++ compiler and make)';

/** The package that provides the native backend: tfjs-node-gpu (built by egtea) unless set. */
function nativePackage(): string {
  return environmentValue('EGTEA_NATIVE_PACKAGE') ?? '@tensorflow/tfjs-node-gpu';
}

/**
 * What to import for the native package: a package name as it is, a folder (an engine built
 * with `egtea engine install --engine-dir`) as the file its package.json names.
 */
function nativeEntry(): string {
  const name = nativePackage();
  if (!path.isAbsolute(name) && !name.startsWith('.')) return name;
  return pathToFileURL(createRequire(import.meta.url).resolve(path.resolve(name))).href;
}

/** The folder of the native package, or null when it is not installed. */
function nativePackageDir(): string | null {
  const name = nativePackage();
  try {
    return path.dirname(
      createRequire(import.meta.url).resolve(
        path.isAbsolute(name) || name.startsWith('.') ? path.join(path.resolve(name), 'package.json') : `${name}/package.json`,
      ),
    );
  } catch {
    return null;
  }
}

let nativeLoad: Promise<string | null> | null = null;
let nativeError = '';

/** Loads the tfjs-node binding once; resolves to the TensorFlow version or null. */
function loadNative(): Promise<string | null> {
  nativeLoad ??= (async () => {
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    // libtensorflow leaves oneDNN off for eager ops; on, TensorFlow's CPU convolutions (and
    // their gradients) run about twice as fast here. A user's own setting wins.
    process.env.TF_ENABLE_ONEDNN_OPTS ??= '1';
    preloadGpuLibraries(installStamp());
    const { error, captured } = await withCapturedStderr(() => import(nativeEntry()));
    if (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      const details = captured.trim() ? `; TensorFlow said: ${captured.trim().split('\n').slice(-3).join(' | ')}` : '';
      nativeError = `${reason}${details}`;
      return null;
    }
    const binding = (tf.findBackend('tensorflow') as unknown as { binding?: { TF_Version?: string } } | null)?.binding;
    return binding?.TF_Version ?? 'unknown';
  })();
  return nativeLoad;
}

/** What `egtea engine install` recorded (bin/install-engine.mjs), or {} without a stamp. */
interface InstallStamp {
  wheel?: string;
  /** Installed with --gpu: a CPU device then is an error, not a fallback. */
  gpu?: boolean;
  /** The NVIDIA libraries to load before TensorFlow looks for CUDA. */
  gpuLibraries?: string[];
}

function installStamp(): InstallStamp {
  const dir = nativePackageDir();
  if (dir === null) return {};
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'egtea-engine.json'), 'utf8')) as InstallStamp;
  } catch {
    return {};
  }
}

/** Set to 1: a GPU build (engine install --gpu) may run on the CPU, as asked, rather than stop. */
function gpuBuildOnCpuAllowed(): boolean {
  const value = environmentValue('EGTEA_GPU_BUILD_ON_CPU');
  if (value === undefined || value === '0') return false;
  if (value === '1') return true;
  throw new UserError(`EGTEA_GPU_BUILD_ON_CPU=${value}: use 1 (let the GPU build run on the CPU) or 0`);
}

// The CUDA driver's library comes with the NVIDIA driver, not from the wheels.
const CUDA_DRIVER = 'libcuda.so.1';
let preloadFailures: Record<string, string> = {};

/**
 * Loads the NVIDIA libraries of a --gpu install by path, so that TensorFlow's own lookups by
 * name find them loaded (no LD_LIBRARY_PATH). Failures are kept for the error message.
 */
function preloadGpuLibraries(stamp: InstallStamp): void {
  if (!stamp.gpu) return;
  const k = loadKernels();
  if (k === null) {
    preloadFailures = { [KERNEL_ADDON_PATH]: "egtea's kernels are not built, and they load the NVIDIA libraries" };
    return;
  }
  preloadFailures = k.preloadLibraries([CUDA_DRIVER, ...(stamp.gpuLibraries ?? [])]);
}

/** The error for a --gpu install that ended up on the CPU, naming what did not load. */
function gpuMissingError(): UserError {
  const failures = Object.entries(preloadFailures);
  const why =
    failures.length > 0
      ? `these libraries did not load: ${failures.map(([lib, error]) => `${path.basename(lib)} (${error})`).join('; ')}`
      : `every library loaded, but TensorFlow found no usable GPU (check nvidia-smi and CUDA_VISIBLE_DEVICES=${environmentValue('CUDA_VISIBLE_DEVICES') ?? '(unset)'})`;
  return new UserError(
    `the engine was installed for a GPU (egtea engine install --gpu) but TensorFlow runs on the CPU: ${why}. ` +
      'To run on the CPU on purpose, install the CPU build (npx egtea engine install --force), ' +
      'or set EGTEA_GPU_BUILD_ON_CPU=1 to run this GPU build on its CPU device (to test the build on a machine without a GPU)',
  );
}

let active: EngineInfo | null = null;

/**
 * Chooses the backend: `auto` takes native TensorFlow (GPU when it has one, else CPU) and
 * falls back to pure JS with a loud warning; `tensorflow` insists on the native engine.
 */
export async function selectBackend(requested?: string): Promise<EngineInfo> {
  const choice = parseBackendChoice(requested);
  let warning: string | null = null;
  let tensorflowVersion: string | null = null;
  if (choice !== 'cpu') {
    tensorflowVersion = await loadNative();
    if (tensorflowVersion === null) {
      if (choice === 'tensorflow') {
        throw new UserError(`the native TensorFlow engine is not available (${nativeError}); ${INSTALL_HINT}`);
      }
      warning =
        `WARNING: native TensorFlow is not available (${nativeError}); running on the pure-JS CPU backend, ` +
        `which is hundreds of times slower and fit only for tiny tests. To fix: ${INSTALL_HINT}.`;
    }
  }
  const backend = tensorflowVersion !== null ? 'tensorflow' : 'cpu';
  // The pure-JS backend registers itself when loaded; the native engine loads it too (tfjs-node takes the whole of tfjs).
  if (backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  // tfjs's own banner about the pure-JS backend would land among our output; ours says more.
  tf.env().set('PROD', true);
  if (!(await tf.setBackend(backend))) throw new UserError(`backend '${backend}' failed to initialise`);
  await tf.ready();
  if (warning) process.stderr.write(`${warning}\n`);
  // egtea's kernels become TensorFlow ops now, before any graph that names them is imported.
  if (backend === 'tensorflow') kernelOpsAvailable();
  const stamp = backend === 'tensorflow' ? installStamp() : {};
  const gpuBuildOnCpu = Boolean(stamp.gpu) && bindingDevice() !== 'gpu';
  if (gpuBuildOnCpu && !gpuBuildOnCpuAllowed()) throw gpuMissingError();
  const implementations = currentImplementations();
  active = {
    backend,
    requested: choice,
    device: bindingDevice() ?? 'cpu',
    tfjsVersion: tf.version_core,
    tensorflowVersion,
    wheel: stamp.wheel ?? null,
    gpuBuildOnCpu,
    groupedConv3d: resolveGroupedConvImpl('auto'),
    graphSteps: implementations.graphSteps,
    implementations,
    threads: {
      cores: os.availableParallelism(),
      intraOp: environmentValue('TF_NUM_INTRAOP_THREADS') ?? 'all cores',
      interOp: environmentValue('TF_NUM_INTEROP_THREADS') ?? 'all cores',
    },
    warning,
  };
  return active;
}

/** The engine chosen by the last selectBackend call. */
export function activeEngine(): EngineInfo | null {
  return active;
}
