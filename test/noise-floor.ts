import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { StoredTensor } from '../src/io/safetensors.js';

/**
 * Bounds for two legitimate computations of the same numbers (a graph against op by op,
 * egtea's kernel against TensorFlow's op, 2 workers against 1 process). A bound is never one
 * machine's figure: the test measures a noise floor on the machine it runs on -- the same
 * computation done another legitimate way, such as the batch in another order (its sums then
 * round differently) -- and allows NOISE_FACTOR times it.
 *
 * Why a factor: the floor is one sample of rounding that near-ties (max-pool, ReLU) amplify
 * chaotically, so another legitimate order lands at the floor's size, not below it. Measured
 * here (2-core x86-64 with AVX2, oneDNN on, loaded), the graph-step, step-trace and
 * data-parallel comparisons sat between 0.001 and 2.7 floors; on a 2-core AVX-512 machine, with
 * oneDNN on and off, 1 thread and egtea's kernels off, the PyTorch-fixture and in-process
 * comparisons sat at 3.7 floors at most.
 */
export const NOISE_FACTOR = 10;

/** The smallest floor: float32's relative rounding step (two orders cannot agree more closely unless equal). */
export const FLOAT32_EPSILON = 2 ** -23;

/** The largest difference two legitimate computations may show, given their measured floor. */
export function noiseBound(floor: number): number {
  return NOISE_FACTOR * Math.max(floor, FLOAT32_EPSILON);
}

/** The batch (first axis) in reverse order: the same examples, summed in another order. */
export function reversedBatch<T extends tf.Tensor>(t: T): T {
  return tf.reverse(t, 0);
}

/**
 * Asserts `diff` (a difference of two legitimate computations) within noiseBound(floor), naming
 * both if not. Soft, so one run names every result outside its floor, not the first only.
 */
export function expectWithinNoise(diff: number, floor: number, what: string): void {
  expect.soft(diff, `${what}: ${diff.toExponential(2)} against a noise floor of ${floor.toExponential(2)}`).toBeLessThanOrEqual(noiseBound(floor));
}

/**
 * The floor a fixture script stored beside a PyTorch result (test/fixtures/noise_floor.py): how
 * far legitimate float32 computations (PyTorch's, in other orders and kernels, and with a near
 * tie flipped) land from float64, by the test's metric; `check` picks one of several metrics.
 */
export function storedFloor(fixture: Map<string, StoredTensor>, name: string, check = 0): number {
  const floor = fixture.get(name)?.data[check];
  if (floor === undefined) throw new Error(`the fixture has no noise floor '${name}'[${check}]: regenerate it (test/fixtures/make_*.py)`);
  return floor;
}
