import * as tf from '@tensorflow/tfjs';

/**
 * The slice of the tfjs-node backend that egtea calls to run TensorFlow ops tfjs does not wrap
 * (or wraps as several ops where TensorFlow has one). Each eager op costs tens of microseconds
 * of dispatch, so one native op in place of a composite of five is a real saving.
 */
export interface NativeBackend {
  binding: {
    TF_FLOAT: number;
    TF_INT32: number;
    TF_BOOL: number;
    TF_ATTR_INT: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_STRING: number;
    TF_ATTR_TYPE: number;
  };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
}

export interface OpAttr {
  name: string;
  type: number;
  value: number | number[] | string | boolean;
}

/** The tfjs-node backend when it is the active one, else null (pure-JS callers compose tfjs ops). */
export function nativeBackend(): NativeBackend | null {
  if (tf.getBackend() !== 'tensorflow') return null;
  return tf.backend() as unknown as NativeBackend;
}

export function floatTypeAttr(backend: NativeBackend, name = 'T'): OpAttr {
  return { name, type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT };
}

export function int32TypeAttr(backend: NativeBackend, name: string): OpAttr {
  return { name, type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_INT32 };
}

export function intsAttr(backend: NativeBackend, name: string, value: number[]): OpAttr {
  return { name, type: backend.binding.TF_ATTR_INT, value };
}

export function stringAttr(backend: NativeBackend, name: string, value: string): OpAttr {
  return { name, type: backend.binding.TF_ATTR_STRING, value };
}
