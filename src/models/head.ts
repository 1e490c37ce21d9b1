import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../engine/mat-mul.js';
import type { ForwardContext } from './context.js';
import { applyLinear, createLinear, type LinearLayer } from './layers.js';
import type { Parameters } from './parameters.js';

/**
 * A model's last layer. 'linear': weight and bias (PyTorch's nn.Linear). 'cosine': the unit-length
 * features times the unit-length weight columns, no bias, so every logit lies in [-1, 1] (the
 * normed classifier Cao et al. train LDAM with: LDAM's scale s = 30 assumes such logits).
 */
export const HEADS = ['linear', 'cosine'] as const;
export type Head = (typeof HEADS)[number];

export interface HeadLayer {
  kind: Head;
  weight: tf.Variable;
  bias: tf.Variable | null;
}

/** F.normalize's floor: a zero vector stays zero instead of dividing by zero. */
const NORM_FLOOR = 1e-12;

export function createHead(params: Parameters, name: string, inFeatures: number, outFeatures: number, kind: Head): HeadLayer {
  if (kind === 'linear') return { kind, ...createLinear(params, name, inFeatures, outFeatures) };
  // The scale of the start does not matter (the columns are normalised); PyTorch's linear bound keeps it familiar.
  const bound = 1 / Math.sqrt(inFeatures);
  const weight = params.add(`${name}.weight`, tf.randomUniform([inFeatures, outFeatures], -bound, bound, 'float32', params.seedFor(name)), 'linear');
  return { kind, weight, bias: null };
}

/** x / max(||x||, floor) along `axis`. */
function unitLength(x: tf.Tensor2D, axis: 0 | 1): tf.Tensor2D {
  return tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), axis, true)), NORM_FLOOR));
}

export function applyHead(layer: HeadLayer, x: tf.Tensor2D, context: ForwardContext): tf.Tensor2D {
  if (layer.kind === 'linear') return applyLinear(layer as LinearLayer, x, context);
  if (context.macs) context.macs.count += x.shape[0] * layer.weight.size;
  return tf.tidy(() => matMul(unitLength(x, 1), unitLength(layer.weight as tf.Tensor2D, 0)));
}
