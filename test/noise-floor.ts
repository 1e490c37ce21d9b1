import * as tf from '@tensorflow/tfjs';

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
 * data-parallel comparisons sat between 0.001 and 2.7 floors.
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
