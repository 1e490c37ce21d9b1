import type * as tf from '@tensorflow/tfjs-core';
import type { ForwardContext } from './context.js';
import type { Parameters } from './parameters.js';

/**
 * What every model family gives the trainer: clips in ([N, T, H, W, C], channels-last;
 * image models take T = 1), logits out.
 */
export interface ClipModel {
  readonly arch: string;
  readonly numClasses: number;
  readonly parameters: Parameters;
  /** The clip shape the model is built for, [T, H, W, C]; T and H, W may vary where the model allows. */
  readonly inputShape: [number, number, number, number];
  forward(clips: tf.Tensor5D, context: ForwardContext): tf.Tensor2D;
  /** The name of the final classifier's parameters, replaced when fine-tuning to other classes. */
  readonly headPrefix: string;
}
