import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../util/paths.js';
import { environmentValue } from '../util/environment.js';

/** egtea's native CPU kernels (src/engine/native), compiled by `egtea engine install`. */
export interface KernelAddon {
  groupedConv3dForward(dims: Int32Array, x: Float32Array, w: Float32Array, y: Float32Array): void;
  groupedConv3dBackwardInput(dims: Int32Array, dy: Float32Array, w: Float32Array, dx: Float32Array): void;
  groupedConv3dBackwardFilter(dims: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  /** header: [rows, channels, relu, hasResidual, training, threads] */
  batchNormForward(
    header: Int32Array,
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    residual: Float32Array | null,
    runningMean: Float32Array,
    runningVar: Float32Array,
    epsilon: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
  ): void;
  batchNormBackward(
    header: Int32Array,
    x: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    dresidual: Float32Array | null,
  ): void;
  /** dims: [n, t, h, w, c, to, ho, wo, kernel, stride, pad, threads] */
  maxPool3dForward(dims: Int32Array, x: Float32Array, y: Float32Array, argmax: Int32Array): void;
  maxPool3dBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array): void;
  /** header: [srcWidth, srcHeight, size, offset]; params: [m00, m01, m10, m11, tx, ty, mean x3, std x3] (output -> source). */
  warpNormalize(src: Uint8Array, header: Int32Array, params: Float64Array, out: Float32Array): void;
  /**
   * Present when built with libjpeg: decodes, warps and normalises clips' frames in one job on the
   * thread pool. Clip c's frames are frames[c * framesPerClip ...], each a JPEG file or RGB pixels
   * decoded at full size earlier (its width and height in the header); its warp is params[12c ...].
   * header: [size, framesPerClip, clips, keep, (denominator, offset) per clip, (width, height) per frame].
   * With keep, gives back each file decoded at full size (null where its clip decoded smaller).
   */
  loadJpegClips?(
    frames: (string | Uint8Array)[],
    params: Float64Array,
    header: Int32Array,
    out: Float32Array,
  ): Promise<({ pixels: Uint8Array; width: number; height: number } | null)[] | undefined>;
  /**
   * Present when built with libjpeg: writes images (channels 1 or 3, grey repeated into RGB) as
   * JPEG files (no chroma subsampling) in one job on the thread pool, folders made as needed, each
   * file whole or not at all (written as `file + temporarySuffix`, then renamed), a non-empty file
   * already there kept. header: [quality, (width, height, channels) per image]. Gives 1 per image
   * written, 0 per image already there; the first failure rejects with "<file>: <reason>" (a file-system one with code, syscall and path, as Node gives them).
   */
  writeJpegFrames?(files: string[], pixels: Uint8Array[], header: Int32Array, temporarySuffix: string): Promise<Uint8Array>;
  /** dlopen()s each library (RTLD_GLOBAL); returns { path: error } for those that did not load. */
  preloadLibraries(paths: string[]): Record<string, string>;
  captureStderr(file: string): number;
  restoreStderr(saved: number): void;
}

export const KERNEL_ADDON_PATH = path.join(projectRoot(), 'src', 'engine', 'native', 'build', 'Release', 'egtea_kernels.node');

let addon: KernelAddon | null | undefined;
let enabled = environmentValue('EGTEA_KERNELS') !== '0';

export function loadKernels(): KernelAddon | null {
  if (!enabled || suspended > 0) return null;
  if (addon === undefined) {
    addon = null;
    if (fs.existsSync(KERNEL_ADDON_PATH)) {
      try {
        addon = createRequire(import.meta.url)(KERNEL_ADDON_PATH) as KernelAddon;
      } catch {
        addon = null;
      }
    }
  }
  return addon;
}

export function kernelsAvailable(): boolean {
  return loadKernels() !== null;
}

let suspended = 0;

/**
 * Runs fn with egtea's kernels set aside, so every op stays a TensorFlow op. A step being
 * recorded as a graph needs that: the kernels compute in C++ on buffers copied out of
 * TensorFlow, which a graph cannot contain.
 */
export function withoutKernels<T>(fn: () => T): T {
  suspended++;
  try {
    return fn();
  } finally {
    suspended--;
  }
}

export function kernelsSuspended(): boolean {
  return suspended > 0;
}

/** Whether egtea's kernels may be used at all (EGTEA_KERNELS=0 or setKernelsEnabled(false) say no). */
export function kernelsEnabled(): boolean {
  return enabled;
}

/** Turns egtea's kernels off (tests and benchmarks compare against the pure-tfjs paths). */
export function setKernelsEnabled(value: boolean): void {
  enabled = value;
}

export function kernelThreads(): number {
  const fromEnv = Number(environmentValue('EGTEA_KERNEL_THREADS'));
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : os.availableParallelism();
}

/**
 * Runs fn with the process's stderr (file descriptor 2) written to a temporary file, and
 * returns what was written there. Without the kernels it runs fn as it is.
 */
export async function withCapturedStderr<T>(fn: () => Promise<T>): Promise<{ value: T | null; error: unknown; captured: string }> {
  const k = loadKernels();
  // Node makes process.stderr on its first use from what fd 2 is then: made while fd 2 is the
  // file, it would stay a file stream after the restore (no isTTY: no progress bars).
  void process.stderr;
  const file = path.join(os.tmpdir(), `egtea-stderr-${process.pid}-${Date.now()}.log`);
  const saved = k ? k.captureStderr(file) : -1;
  let value: T | null = null;
  let error: unknown = null;
  try {
    value = await fn();
  } catch (caught) {
    error = caught;
  } finally {
    if (k && saved >= 0) k.restoreStderr(saved);
  }
  let captured = '';
  if (saved >= 0) {
    captured = fs.readFileSync(file, 'utf8');
    fs.rmSync(file, { force: true });
  }
  return { value, error, captured };
}
