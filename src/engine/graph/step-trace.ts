import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { withoutKernels } from '../kernels.js';
import type { NativeBackend, OpAttr, OutputMetadata } from '../native-backend.js';
import type { GraphAttrValue, GraphNode } from './graph-def.js';
import { decodeOpDef, inferInputAttrs, type OpDefSummary } from './op-def.js';

/** A step recorded as a graph: placeholders for its inputs, then every op it ran, in order. */
export interface TracedStep {
  nodes: GraphNode[];
  /** Placeholder node names, one per input tensor, in input order. */
  inputNames: string[];
  /** "node:index" of each output. */
  outputNames: string[];
  /** Canonical text of the whole graph (constants by digest): equal keys, equal graphs. */
  key: string;
}

/** Why a step cannot be replayed as a graph; the eager run it came from is still valid. */
export class UntraceableStepError extends Error {}

type Source = string; // "node:index"

const opDefs = new Map<string, OpDefSummary>();

function opDef(backend: NativeBackend, name: string): OpDefSummary {
  let summary = opDefs.get(name);
  if (summary === undefined) {
    if (!backend.binding.opDef) throw new UntraceableStepError("the tfjs binding lacks egtea's patch (run: egtea engine install)");
    summary = decodeOpDef(backend.binding.opDef(name));
    opDefs.set(name, summary);
  }
  return summary;
}

function tfDtype(backend: NativeBackend, dtype: tf.DataType): number {
  const b = backend.binding;
  if (dtype === 'float32') return b.TF_FLOAT;
  if (dtype === 'int32') return b.TF_INT32;
  if (dtype === 'bool') return b.TF_BOOL;
  throw new UntraceableStepError(`a ${dtype} input cannot be fed to a graph`);
}

function graphAttr(backend: NativeBackend, attr: OpAttr): GraphAttrValue {
  const b = backend.binding;
  const { type, value } = attr;
  if (type === b.TF_ATTR_TYPE) return { kind: 'type', value: value as number };
  if (type === b.TF_ATTR_SHAPE) return { kind: 'shape', value: value as number[] };
  if (type === b.TF_ATTR_STRING) return { kind: 'string', value: value as string };
  if (type === b.TF_ATTR_INT) return Array.isArray(value) ? { kind: 'ints', value: value as number[] } : { kind: 'int', value: value as number };
  if (type === b.TF_ATTR_FLOAT) return Array.isArray(value) ? { kind: 'floats', value: value as number[] } : { kind: 'float', value: value as number };
  if (type === b.TF_ATTR_BOOL) return Array.isArray(value) ? { kind: 'bools', value: value as boolean[] } : { kind: 'bool', value: value as boolean };
  throw new UntraceableStepError(`attribute '${attr.name}' has a type the graph writer does not know (${type})`);
}

/** The one element every element of a large constant equals, or null. */
function uniformElement(bytes: Uint8Array, elements: number): Uint8Array | null {
  if (elements < 64 || bytes.length % elements !== 0) return null;
  const size = bytes.length / elements;
  for (let i = size; i < bytes.length; i++) if (bytes[i] !== bytes[i % size]) return null;
  return bytes.slice(0, size);
}

function constNode(name: string, dtype: number, shape: readonly number[], bytes: Uint8Array): GraphNode {
  return { name, op: 'Const', inputs: [], attrs: new Map<string, GraphAttrValue>([['dtype', { kind: 'type', value: dtype }], ['value', { kind: 'tensor', value: { dtype, shape, bytes } }]]) };
}

function attrKey(value: GraphAttrValue): string {
  if (value.kind === 'tensor') return `tensor(${value.value.dtype},[${value.value.shape}],${createHash('sha1').update(value.value.bytes).digest('hex')})`;
  return `${value.kind}(${JSON.stringify(value.value)})`;
}

/**
 * Runs `body` eagerly while recording every TensorFlow call it makes through the tfjs-node
 * binding, and returns the run's own results with the graph that reproduces them.
 *
 * The graph's inputs are `inputs` (materialised first, so their values are fed, never baked
 * in); its outputs are the tensors `body` returns and, for each input that is a tf.Variable,
 * the value the step assigned to it (`reassigned` lists which). Tensors the body creates from
 * JavaScript values become constants. The step is untraceable when it reads a made-before
 * tensor that is not among the inputs (the graph would have nothing to feed it from) or reads
 * a tensor's values into JavaScript (what it computes from them would be frozen). egtea's own
 * CPU kernels do the latter, so the body runs without them (TensorFlow's ops instead).
 */
export function traceStep(
  backend: NativeBackend,
  inputs: readonly tf.Tensor[],
  body: () => tf.Tensor[],
): { results: tf.Tensor[]; reassigned: number[]; trace: TracedStep | UntraceableStepError } {
  const real = backend.binding;
  const nodes: GraphNode[] = [];
  const sources = new Map<number, Source>();
  const dtypes = new Map<Source, number>();
  const problems: string[] = [];
  let constants = 0;
  let ops = 0;

  const inputIds = backend.getInputTensorIds([...inputs]);
  const inputNames = inputs.map((t, i) => {
    const name = `input${i}`;
    try {
      const dtype = tfDtype(backend, t.dtype);
      nodes.push({ name, op: 'Placeholder', inputs: [], attrs: new Map<string, GraphAttrValue>([['dtype', { kind: 'type', value: dtype }], ['shape', { kind: 'shape', value: t.shape }]]) });
      dtypes.set(`${name}:0`, dtype);
    } catch (error) {
      problems.push((error as Error).message);
    }
    // An input passed twice (the same tensor in two roles) feeds the first placeholder.
    if (!sources.has(inputIds[i]!)) sources.set(inputIds[i]!, `${name}:0`);
    return name;
  });

  const createTensor: NativeBackend['binding']['createTensor'] = (shape, dtype, values) => {
    const id = real.createTensor(shape, dtype, values);
    if (Array.isArray(values)) {
      problems.push('the step makes a string tensor');
      return id;
    }
    const view = values as ArrayBufferView;
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
    const name = `const${constants++}`;
    const elements = shape.reduce((a, b) => a * b, 1);
    const fill = uniformElement(bytes, elements);
    if (fill !== null) {
      // tfjs's gradients make full-size tensors of ones (the mean's, for one); a Fill keeps
      // them out of the graph's bytes.
      const int32 = backend.binding.TF_INT32;
      const dims = new Uint8Array(Int32Array.from(shape).buffer);
      nodes.push(
        constNode(`${name}_dims`, int32, [shape.length], dims),
        constNode(`${name}_value`, dtype, [], fill),
        { name, op: 'Fill', inputs: [`${name}_dims:0`, `${name}_value:0`], attrs: new Map<string, GraphAttrValue>([['T', { kind: 'type', value: dtype }], ['index_type', { kind: 'type', value: int32 }]]) },
      );
    } else {
      nodes.push(constNode(name, dtype, shape, bytes));
    }
    sources.set(id, `${name}:0`);
    dtypes.set(`${name}:0`, dtype);
    return id;
  };
  const executeOp = (name: string, attrs: OpAttr[], ids: number[], numOutputs: number): OutputMetadata[] => {
    const outputs = real.executeOp(name, attrs, ids, numOutputs);
    const node = `op${ops++}`;
    const nodeInputs = ids.map((id) => {
      const source = sources.get(id);
      if (source === undefined) problems.push(`${name} reads a tensor made before the step that is not among its inputs`);
      return source ?? 'missing:0';
    });
    try {
      const graphAttrs = new Map(attrs.map((a) => [a.name, graphAttr(backend, a)]));
      // Eager execution infers some attributes from the inputs; a graph node must state them.
      inferInputAttrs(opDef(backend, name), graphAttrs, nodeInputs.map((s) => dtypes.get(s) ?? 0));
      nodes.push({ name: node, op: name, inputs: nodeInputs, attrs: graphAttrs });
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
    }
    outputs.forEach((o, i) => {
      sources.set(o.id, `${node}:${i}`);
      dtypes.set(`${node}:${i}`, o.dtype);
    });
    return outputs;
  };
  const deleteTensor = (id: number): void => {
    sources.delete(id);
    real.deleteTensor(id);
  };
  const tensorDataSync = (id: number): ArrayBufferView => {
    // Values that reach JavaScript (a kernel outside TensorFlow, a data-dependent branch)
    // would be frozen into the graph.
    if (sources.has(id)) problems.push('the step reads tensor values into JavaScript');
    return real.tensorDataSync(id);
  };
  // The binding's own properties are read-only, so the recorder shadows them by definition.
  const recording: NativeBackend['binding'] = Object.create(real, {
    createTensor: { value: createTensor },
    executeOp: { value: executeOp },
    deleteTensor: { value: deleteTensor },
    tensorDataSync: { value: tensorDataSync },
  });

  const before = inputIds.slice();
  backend.binding = recording;
  let results: tf.Tensor[];
  try {
    results = withoutKernels(body);
  } finally {
    backend.binding = real;
  }

  // A variable's new value is whatever the step last assigned to it.
  const reassigned: number[] = [];
  const outputNames: string[] = [];
  const afterIds = backend.getInputTensorIds([...inputs]);
  inputs.forEach((t, i) => {
    if (afterIds[i] !== before[i]) {
      if (!(t instanceof tf.Variable)) problems.push(`input ${i} changed but is not a variable`);
      reassigned.push(i);
    }
  });
  const resultIds = backend.getInputTensorIds(results);
  const identity = (source: Source, i: number): string => {
    // A graph output must be an op's output: an input fed straight through needs an Identity.
    if (!source.startsWith('input')) return source;
    const name = `passthrough${i}`;
    nodes.push({ name, op: 'Identity', inputs: [source], attrs: new Map<string, GraphAttrValue>([['T', { kind: 'type', value: dtypes.get(source)! }]]) });
    return `${name}:0`;
  };
  [...resultIds, ...reassigned.map((i) => afterIds[i]!)].forEach((id, i) => {
    const source = sources.get(id);
    if (source === undefined) problems.push(`output ${i} was not made by the step`);
    else outputNames.push(identity(source, i));
  });

  if (problems.length > 0) return { results, reassigned, trace: new UntraceableStepError([...new Set(problems)].join('; ')) };
  const key = [
    ...nodes.map((n) => `${n.name}=${n.op}(${n.inputs.join(',')})${[...n.attrs].map(([k, v]) => `${k}:${attrKey(v)}`).join(';')}`),
    `out:${outputNames.join(',')}`,
  ].join('\n');
  return { results, reassigned, trace: { nodes, inputNames, outputNames, key } };
}
