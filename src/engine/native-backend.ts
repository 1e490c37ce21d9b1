import * as tf from '@tensorflow/tfjs-core';

/**
 * The slice of the tfjs-node backend that egtea calls to run TensorFlow ops tfjs does not wrap
 * (or wraps as several ops where TensorFlow has one). Each eager op costs tens of microseconds
 * of dispatch, so one native op in place of a composite of five is a real saving.
 */
export interface NativeBackend {
  binding: {
    TF_FLOAT: number;
    TF_INT32: number;
    TF_INT64: number;
    TF_BOOL: number;
    TF_ATTR_INT: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_STRING: number;
    TF_ATTR_TYPE: number;
    TF_ATTR_FLOAT: number;
    TF_ATTR_SHAPE: number;
    executeOp(name: string, attrs: OpAttr[], inputIds: number[], numOutputs: number): OutputMetadata[];
    createTensor(shape: number[], dtype: number, values: ArrayBufferView | string[]): number;
    tensorDataSync(id: number): ArrayBufferView;
    deleteTensor(id: number): void;
    /** egtea's patch of the binding (bin/binding-patch): a session over GraphDef bytes. */
    loadGraphDef?(graphDef: Uint8Array): number;
    opDef?(opName: string): Uint8Array;
    /** egtea's patch: registers GraphDef bytes as a function executeOp runs by name (inputs/outputs: "node:index,..."). */
    addFunction?(graphDef: Uint8Array, name: string, inputs: string, outputs: string): void;
    removeFunction?(name: string): void;
    runSavedModel(sessionId: number, inputIds: number[], inputNames: string, outputNames: string): OutputMetadata[];
    deleteSavedModel(sessionId: number): void;
  };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
  getInputTensorIds(tensors: tf.Tensor[]): number[];
  createOutputTensor(metadata: OutputMetadata): tf.Tensor;
}

/** A TensorFlow tensor handle as the binding returns it, before tfjs wraps it. */
export interface OutputMetadata {
  id: number;
  shape: number[];
  dtype: number;
}

export interface OpAttr {
  name: string;
  type: number;
  value: number | number[] | string | boolean | boolean[];
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

export function floatAttr(backend: NativeBackend, name: string, value: number): OpAttr {
  return { name, type: backend.binding.TF_ATTR_FLOAT, value };
}

export function boolAttr(backend: NativeBackend, name: string, value: boolean): OpAttr {
  return { name, type: backend.binding.TF_ATTR_BOOL, value };
}
