import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';
import { resolveGroupedConvImpl } from './conv3d.js';
import { bindingDevice, currentImplementations, type Device, type Implementations } from './dispatch.js';
import { withCapturedStderr } from './kernels.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export const BACKEND_ENV = 'EGTEA_BACKEND';

export interface EngineInfo {
  backend: 'tensorflow' | 'cpu';
  requested: BackendChoice;
  /** Where TensorFlow puts tensors, as the binding reports it. */
  device: Device;
  tfjsVersion: string;
  tensorflowVersion: string | null;
  /** The wheel libtensorflow came from, as recorded by `egtea engine install`. */
  wheel: string | null;
  /** The grouped conv3d path `auto` takes here. */
  groupedConv3d: 'native' | 'kernel' | 'split-per-group';
  /** Whether training steps run as one TensorFlow function here (patched binding). */
  graphSteps: boolean;
  /** What src/engine/dispatch.ts chooses for each op with several implementations. */
  implementations: Implementations;
  threads: { cores: number; intraOp: string; interOp: string };
  warning: string | null;
}

export function parseBackendChoice(value: string | undefined): BackendChoice {
  const choice = value ?? process.env[BACKEND_ENV] ?? 'auto';
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new UserError(`unknown backend '${choice}'; choose one of: ${BACKEND_CHOICES.join(', ')}`);
  }
  return choice as BackendChoice;
}

const INSTALL_HINT =
  'run `npx egtea engine install` (it takes libtensorflow from the TensorFlow wheel through pip and compiles the binding; needs python3 with pip, a C++ compiler and make)';

/** The package that provides the native backend: tfjs-node-gpu (built by egtea) unless set. */
export const NATIVE_PACKAGE_ENV = 'EGTEA_NATIVE_PACKAGE';
function nativePackage(): string {
  return process.env[NATIVE_PACKAGE_ENV] || '@tensorflow/tfjs-node-gpu';
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
    const { error, captured } = await withCapturedStderr(() => import(nativePackage()));
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

function installedWheel(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-node-gpu/package.json'));
    const stamp = JSON.parse(fs.readFileSync(path.join(dir, 'egtea-engine.json'), 'utf8')) as { wheel?: string };
    return stamp.wheel ?? null;
  } catch {
    return null;
  }
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
  // tfjs's own banner about the pure-JS backend would land among our output; ours says more.
  tf.env().set('PROD', true);
  if (!(await tf.setBackend(backend))) throw new UserError(`backend '${backend}' failed to initialise`);
  await tf.ready();
  if (warning) process.stderr.write(`${warning}\n`);
  const implementations = currentImplementations();
  active = {
    backend,
    requested: choice,
    device: bindingDevice() ?? 'cpu',
    tfjsVersion: tf.version_core,
    tensorflowVersion,
    wheel: backend === 'tensorflow' ? installedWheel() : null,
    groupedConv3d: resolveGroupedConvImpl('auto'),
    graphSteps: implementations.graphSteps,
    implementations,
    threads: {
      cores: os.availableParallelism(),
      intraOp: process.env.TF_NUM_INTRAOP_THREADS ?? 'all cores',
      interOp: process.env.TF_NUM_INTEROP_THREADS ?? 'all cores',
    },
    warning,
  };
  return active;
}

/** The engine chosen by the last selectBackend call. */
export function activeEngine(): EngineInfo | null {
  return active;
}
