import * as tf from '@tensorflow/tfjs-core';
import type { StoredTensor } from '../io/safetensors.js';

// PyTorch stores channels-first (N,C,T,H,W; conv weights [out, in/g, kt, kh, kw]);
// TensorFlow.js works channels-last (N,T,H,W,C; conv filters [kt, kh, kw, in/g, out]).

type Shape5D = [number, number, number, number, number];

function asTensor5D(stored: StoredTensor): tf.Tensor5D {
  if (stored.shape.length !== 5) throw new Error(`expected a 5-D tensor, got shape [${stored.shape.join(', ')}]`);
  return tf.tensor5d(Float32Array.from(stored.data), stored.shape as Shape5D, 'float32');
}

export function clipFromTorch(stored: StoredTensor): tf.Tensor5D {
  return tf.tidy(() => tf.transpose(asTensor5D(stored), [0, 2, 3, 4, 1]) as tf.Tensor5D);
}

export function conv3dFilterFromTorch(stored: StoredTensor): tf.Tensor5D {
  return tf.tidy(() => tf.transpose(asTensor5D(stored), [2, 3, 4, 1, 0]) as tf.Tensor5D);
}
