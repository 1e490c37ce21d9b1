import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { shapeInference, type InferredOutput, type ShapeGraphHandle } from '../kernel-ops.js';
import { withoutKernels } from '../kernels.js';
import type { NativeBackend, OpAttr, OutputMetadata } from '../native-backend.js';
import { addGraphFunction, functionCallAttrs } from './function-call.js';
import type { GraphAttrValue, GraphNode } from './graph-def.js';
import { kernelOpOutputs } from './kernel-op-shapes.js';
import { decodeOpDef, groupInputsByArgument, inferInputAttrs, type OpDefSummary } from './op-def.js';

/** A step recorded as a graph: placeholders for its inputs, then every op it ran, in order. */
export interface TracedStep {
  nodes: GraphNode[];
  /** Placeholder node names, one per input tensor, in input order. */
  inputNames: string[];
  /** "node:index" of each output. */
  outputNames: string[];
  /** How many of the outputs are the step's results (the rest are reassigned variables). */
  resultCount: number;
  /** Indices of the inputs (variables) the step reassigns, in the order of those outputs. */
  reassigned: number[];
  /** Canonical text of the whole graph (constants by digest): equal keys, equal graphs. */
  key: string;
}

/** What recording a step leaves behind. */
export interface StepRecording {
  trace: TracedStep | UntraceableStepError;
  /**
   * For an untraceable step, the results of its eager run, whose updates stand; null for a
   * recorded one, which leaves every variable as it was before the step.
   */
  results: tf.Tensor[] | null;
  /** Whether the ops ran while being recorded (false: recorded from shapes alone). */
  ran: boolean;
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
  return {
    name,
    op: 'Const',
    inputs: [],
    attrs: new Map<string, GraphAttrValue>([
      ['dtype', { kind: 'type', value: dtype }],
      ['value', { kind: 'tensor', value: { dtype, shape, bytes } }],
    ]),
  };
}

function attrKey(value: GraphAttrValue): string {
  if (value.kind === 'tensor') return `tensor(${value.value.dtype},[${value.value.shape}],${createHash('sha1').update(value.value.bytes).digest('hex')})`;
  return `${value.kind}(${JSON.stringify(value.value)})`;
}

/**
 * Ids of tensors that exist only in the recording (a shape, no buffer) lie above every id the
 * binding hands out, so that the binding never sees one.
 */
const FIRST_SHAPE_ONLY_ID = 2 ** 40;

/** A tensor the recording has not computed: where it comes from and how to make it real. */
interface ShapeOnly {
  source: Source;
  /** The tfjs tensor data that carries this id (none for a raw handle a caller holds). */
  dataId?: object;
  /** A constant's values (made directly rather than by running the graph). */
  constant?: { shape: number[]; dtype: number; values: ArrayBufferView };
}

interface TensorMap {
  get(dataId: object): { id: number; values: unknown } | undefined;
}

/**
 * Records `body` -- every TensorFlow call it makes through the tfjs-node binding -- as a graph
 * whose inputs are `inputs` (materialised first, so their values are fed, never baked in) and
 * whose outputs are the tensors `body` returns and, for each input that is a tf.Variable, the
 * value the step assigned to it (the trace's `reassigned` lists which). Tensors the body creates from
 * JavaScript values become constants.
 *
 * The ops do not run: each goes into a TensorFlow graph built for shape inference alone
 * (TensorFlow's shape functions; egtea's ops' shapes from kernel-op-shapes.ts), and tfjs gets
 * tensors that have a shape and no buffer. So recording costs no activations, no gradients,
 * and no kernel time. Where a shape stays unknown, or the step reads values into JavaScript,
 * the tensors still alive are computed by running the graph recorded so far and the rest of
 * the step runs eagerly (still recorded), as the whole step does without the shape graph.
 *
 * A traceable step leaves its variables as they were (an eager run's updates are undone) and
 * disposes its results: the caller runs the graph. An untraceable step -- one that reads a
 * made-before tensor that is not among the inputs (the graph would have nothing to feed it
 * from) or reads a tensor's values into JavaScript (what it computes from them would be
 * frozen) -- has run eagerly and its results and updates stand. egtea's kernels outside
 * TensorFlow read values into JavaScript, so the body runs without them (their TensorFlow ops
 * stay). `run: true` runs every op while recording it, as the step does without the shape graph.
 */
export function traceStep(backend: NativeBackend, inputs: readonly tf.Tensor[], body: () => tf.Tensor[], options: { run?: boolean } = {}): StepRecording {
  const recorder = new StepRecorder(backend, inputs, options.run === true);
  recorder.install();
  let results: tf.Tensor[];
  try {
    results = withoutKernels(body);
    recorder.collectOutputs(results);
    recorder.settle(results);
  } catch (error) {
    recorder.undoUnrun();
    throw error;
  } finally {
    recorder.uninstall();
  }
  return recorder.recording(results);
}

/**
 * The recording of one step: it stands in for the binding (createTensor, executeOp,
 * deleteTensor, tensorDataSync) while the step's body runs, and keeps the graph it builds.
 */
class StepRecorder {
  private readonly real: NativeBackend['binding'];
  private readonly tensorMap: TensorMap;
  private readonly nodes: GraphNode[] = [];
  private readonly sources = new Map<number, Source>();
  private readonly dtypes = new Map<Source, number>();
  private readonly shapes = new Map<Source, readonly number[]>();
  private readonly problems: string[] = [];
  private constants = 0;
  private ops = 0;
  private ran = false;
  private readonly inputIds: number[];
  private readonly inputNames: string[];
  /** The variables' values before the step (a clone shares the buffer: no copy), to undo its updates. */
  private readonly before: (tf.Tensor | null)[];
  // ---- shapes without running ----
  private readonly inference = shapeInference();
  private shapeGraph: ShapeGraphHandle | null;
  private readonly shapeOnly = new Map<number, ShapeOnly>();
  private readonly madeReal = new Map<number, number>();
  /** egtea's ops stand in the shape graph as placeholders of the shapes kernel-op-shapes.ts gives. */
  private readonly shapeAliases = new Map<Source, Source>();
  private nextId = FIRST_SHAPE_ONLY_ID;
  // ---- the outputs ----
  private readonly reassigned: number[] = [];
  private readonly outputNames: string[] = [];
  /** The backend's own methods, while the recorder's stand in their place. */
  private readonly createOutputTensor: NativeBackend['createOutputTensor'];
  private readonly getInputTensorIds: NativeBackend['getInputTensorIds'];

  constructor(
    private readonly backend: NativeBackend,
    private readonly inputs: readonly tf.Tensor[],
    run: boolean,
  ) {
    this.real = backend.binding;
    this.tensorMap = (backend as unknown as { tensorMap: TensorMap }).tensorMap;
    this.createOutputTensor = backend.createOutputTensor;
    this.getInputTensorIds = backend.getInputTensorIds;
    this.inputIds = backend.getInputTensorIds([...inputs]);
    this.inputNames = inputs.map((t, i) => {
      const name = `input${i}`;
      try {
        const dtype = tfDtype(backend, t.dtype);
        this.nodes.push({
          name,
          op: 'Placeholder',
          inputs: [],
          attrs: new Map<string, GraphAttrValue>([
            ['dtype', { kind: 'type', value: dtype }],
            ['shape', { kind: 'shape', value: t.shape }],
          ]),
        });
        this.dtypes.set(`${name}:0`, dtype);
        this.shapes.set(`${name}:0`, t.shape);
      } catch (error) {
        this.problems.push((error as Error).message);
      }
      // An input passed twice (the same tensor in two roles) feeds the first placeholder.
      if (!this.sources.has(this.inputIds[i]!)) this.sources.set(this.inputIds[i]!, `${name}:0`);
      return name;
    });
    this.before = inputs.map((t) => (t instanceof tf.Variable ? tf.clone(t) : null));
    this.shapeGraph = this.inference !== null && this.problems.length === 0 && !run ? this.inference.newShapeGraph() : null;
    try {
      if (this.shapeGraph !== null) for (const node of this.nodes) this.addToShapeGraph(node);
    } catch {
      this.shapeGraph = null;
    }
  }

  private isShapeOnly(id: number): boolean {
    return id >= FIRST_SHAPE_ONLY_ID;
  }

  private realId(id: number): number {
    return this.isShapeOnly(id) ? (this.madeReal.get(id) ?? id) : id;
  }

  private addToShapeGraph(node: GraphNode): InferredOutput[] {
    const grouped = groupInputsByArgument(
      opDef(this.backend, node.op),
      node.attrs,
      node.inputs.map((s) => this.shapeAliases.get(s) ?? s),
    );
    return this.inference!.addShapeNode(
      this.shapeGraph!,
      node.name,
      node.op,
      grouped,
      [...node.attrs].map(([k, v]) => [k, v.kind, v.value]),
    );
  }

  /** The outputs of op `node` from shapes alone, or null when a shape is not fully known. */
  private inferOutputs(node: GraphNode, numOutputs: number): OutputMetadata[] | null {
    try {
      const egtea = kernelOpOutputs(
        node.op,
        node.inputs.map((s) => this.shapes.get(s)!),
        node.attrs,
      );
      let outputs: InferredOutput[];
      if (egtea !== null) {
        outputs = egtea.map((o) => ({ dtype: o.dtype === 'int32' ? this.real.TF_INT32 : this.real.TF_FLOAT, shape: o.shape }));
        outputs.forEach((o, i) => {
          const stand = `${node.name}_shape${i}`;
          const attrs = new Map<string, GraphAttrValue>([
            ['dtype', { kind: 'type', value: o.dtype }],
            ['shape', { kind: 'shape', value: o.shape! }],
          ]);
          this.addToShapeGraph({ name: stand, op: 'Placeholder', inputs: [], attrs });
          this.shapeAliases.set(`${node.name}:${i}`, `${stand}:0`);
        });
      } else {
        outputs = this.addToShapeGraph(node);
      }
      if (outputs.length !== numOutputs || outputs.some((o) => o.shape === null || o.shape.some((d) => d < 0))) return null;
      return outputs.map((o) => ({ id: this.nextId++, shape: o.shape!, dtype: o.dtype }));
    } catch {
      // A node TensorFlow refuses: running it reports why.
      return null;
    }
  }

  /**
   * From here on the step runs: the tensors alive now get their values (constants from their
   * bytes, the rest by running the graph recorded so far as a function) under real ids.
   */
  private runFromHere(): void {
    if (this.shapeGraph === null) return;
    this.shapeGraph = null;
    const alive = [...this.shapeOnly.entries()];
    this.shapeOnly.clear();
    const computed = alive.filter(([, t]) => t.constant === undefined);
    const values =
      computed.length === 0
        ? []
        : runRecorded(
            this.backend,
            this.real,
            this.nodes,
            this.inputNames,
            this.inputIds,
            computed.map(([, t]) => t.source),
          );
    let next = 0;
    for (const [id, t] of alive) {
      const made = t.constant ? this.real.createTensor(t.constant.shape, t.constant.dtype, t.constant.values) : values[next++]!.id;
      this.madeReal.set(id, made);
      this.sources.set(made, t.source);
      this.sources.delete(id);
      const entry = t.dataId === undefined ? undefined : this.tensorMap.get(t.dataId);
      if (entry !== undefined) entry.id = made;
    }
  }

  private createTensor(shape: number[], dtype: number, values: ArrayBufferView | string[]): number {
    if (Array.isArray(values)) {
      this.runFromHere();
      this.problems.push('the step makes a string tensor');
      return this.real.createTensor(shape, dtype, values);
    }
    const lean = this.shapeGraph !== null;
    const id = lean ? this.nextId++ : this.real.createTensor(shape, dtype, values);
    const view = values as ArrayBufferView;
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
    const name = `const${this.constants++}`;
    const elements = shape.reduce((a, b) => a * b, 1);
    const fill = uniformElement(bytes, elements);
    const made: GraphNode[] = [];
    if (fill !== null) {
      // tfjs's gradients make full-size tensors of ones (the mean's, for one); a Fill keeps
      // them out of the graph's bytes.
      const int32 = this.real.TF_INT32;
      const dims = new Uint8Array(Int32Array.from(shape).buffer);
      made.push(constNode(`${name}_dims`, int32, [shape.length], dims), constNode(`${name}_value`, dtype, [], fill), {
        name,
        op: 'Fill',
        inputs: [`${name}_dims:0`, `${name}_value:0`],
        attrs: new Map<string, GraphAttrValue>([
          ['T', { kind: 'type', value: dtype }],
          ['index_type', { kind: 'type', value: int32 }],
        ]),
      });
    } else {
      made.push(constNode(name, dtype, shape, bytes));
    }
    this.nodes.push(...made);
    this.sources.set(id, `${name}:0`);
    this.dtypes.set(`${name}:0`, dtype);
    this.shapes.set(`${name}:0`, shape);
    if (!lean) return id;
    this.shapeOnly.set(id, { source: `${name}:0`, constant: { shape, dtype, values: view } });
    try {
      for (const node of made) this.addToShapeGraph(node);
    } catch {
      this.runFromHere();
    }
    return this.realId(id);
  }

  private executeOp(name: string, attrs: OpAttr[], givenIds: number[], numOutputs: number): OutputMetadata[] {
    let ids = givenIds.map((id) => this.realId(id));
    const node = `op${this.ops++}`;
    let nodeInputs = ids.map((id) => this.sources.get(id));
    let graphAttrs: Map<string, GraphAttrValue> | Error;
    try {
      graphAttrs = new Map(attrs.map((a) => [a.name, graphAttr(this.backend, a)]));
      // Eager execution infers some attributes from the inputs; a graph node must state them.
      inferInputAttrs(
        opDef(this.backend, name),
        graphAttrs,
        nodeInputs.map((s) => (s === undefined ? 0 : (this.dtypes.get(s) ?? 0))),
      );
    } catch (error) {
      graphAttrs = error as Error;
    }
    if (this.shapeGraph !== null) {
      const known = !(graphAttrs instanceof Error) && nodeInputs.every((s) => s !== undefined);
      const inferred = known
        ? this.inferOutputs({ name: node, op: name, inputs: nodeInputs as Source[], attrs: graphAttrs as Map<string, GraphAttrValue> }, numOutputs)
        : null;
      if (inferred !== null) {
        this.nodes.push({ name: node, op: name, inputs: nodeInputs as Source[], attrs: graphAttrs as Map<string, GraphAttrValue> });
        inferred.forEach((o, i) => {
          const source = `${node}:${i}`;
          this.sources.set(o.id, source);
          this.dtypes.set(source, o.dtype);
          this.shapes.set(source, o.shape);
          this.shapeOnly.set(o.id, { source });
        });
        return inferred;
      }
      // Tensors made real keep their sources, so the attributes above still hold.
      this.runFromHere();
      ids = givenIds.map((id) => this.realId(id));
      nodeInputs = ids.map((id) => this.sources.get(id));
    }
    const outputs = this.real.executeOp(name, attrs, ids, numOutputs);
    this.ran = true;
    if (nodeInputs.some((s) => s === undefined)) this.problems.push(`${name} reads a tensor made before the step that is not among its inputs`);
    if (graphAttrs instanceof Error) this.problems.push(`${name}: ${graphAttrs.message}`);
    else this.nodes.push({ name: node, op: name, inputs: nodeInputs.map((s) => s ?? 'missing:0'), attrs: graphAttrs });
    outputs.forEach((o, i) => {
      this.sources.set(o.id, `${node}:${i}`);
      this.dtypes.set(`${node}:${i}`, o.dtype);
      this.shapes.set(`${node}:${i}`, o.shape);
    });
    return outputs;
  }

  private deleteTensor(id: number): void {
    if (this.isShapeOnly(id)) {
      this.shapeOnly.delete(id);
      this.sources.delete(id);
      const made = this.madeReal.get(id);
      if (made === undefined) return;
      this.madeReal.delete(id);
      id = made;
    }
    this.sources.delete(id);
    this.real.deleteTensor(id);
  }

  private tensorDataSync(id: number): ArrayBufferView {
    if (this.isShapeOnly(id) || this.sources.has(id)) this.runFromHere();
    const realId = this.realId(id);
    // Values that reach JavaScript (a kernel outside TensorFlow, a data-dependent branch)
    // would be frozen into the graph.
    if (this.sources.has(realId)) this.problems.push('the step reads tensor values into JavaScript');
    return this.real.tensorDataSync(realId);
  }

  /** Stands in for the binding, and tracks which tfjs tensor carries each shape-only id (so that making it real can update it). */
  install(): void {
    // The binding's own properties are read-only, so the recorder shadows them by definition.
    this.backend.binding = Object.create(this.real, {
      createTensor: { value: this.createTensor.bind(this) },
      executeOp: { value: this.executeOp.bind(this) },
      deleteTensor: { value: this.deleteTensor.bind(this) },
      tensorDataSync: { value: this.tensorDataSync.bind(this) },
    }) as NativeBackend['binding'];
    const backendMethods = this.backend as unknown as Record<string, unknown>;
    backendMethods.createOutputTensor = (metadata: OutputMetadata): tf.Tensor => {
      const made = { ...metadata, id: this.realId(metadata.id) };
      const tensor = this.createOutputTensor.call(this.backend, made);
      const pending = this.shapeOnly.get(made.id);
      if (pending) pending.dataId = tensor.dataId;
      return tensor;
    };
    backendMethods.getInputTensorIds = (tensors: tf.Tensor[]): number[] => {
      const written = tensors.map((t) => (this.tensorMap.get(t.dataId)?.values != null ? t.dataId : undefined));
      const ids = this.getInputTensorIds.call(this.backend, tensors);
      ids.forEach((id, i) => {
        const pending = this.shapeOnly.get(id);
        if (pending && written[i] !== undefined) pending.dataId = written[i];
      });
      return ids;
    };
  }

  uninstall(): void {
    this.backend.binding = this.real;
    const backendMethods = this.backend as unknown as Record<string, unknown>;
    delete backendMethods.createOutputTensor;
    delete backendMethods.getInputTensorIds;
    tf.dispose(this.before.filter((t) => t !== null));
  }

  /** The graph's outputs: the step's results, then the new value of each variable it reassigned. */
  collectOutputs(results: tf.Tensor[]): void {
    // A variable's new value is whatever the step last assigned to it.
    const afterIds = this.backend.getInputTensorIds([...this.inputs]);
    this.inputs.forEach((t, i) => {
      if (afterIds[i] !== this.inputIds[i]) {
        if (!(t instanceof tf.Variable)) this.problems.push(`input ${i} changed but is not a variable`);
        this.reassigned.push(i);
      }
    });
    const resultIds = this.backend.getInputTensorIds(results);
    const identity = (source: Source, i: number): string => {
      // A graph output must be an op's output: an input fed straight through needs an Identity.
      if (!source.startsWith('input')) return source;
      const name = `passthrough${i}`;
      this.nodes.push({
        name,
        op: 'Identity',
        inputs: [source],
        attrs: new Map<string, GraphAttrValue>([['T', { kind: 'type', value: this.dtypes.get(source)! }]]),
      });
      return `${name}:0`;
    };
    [...resultIds, ...this.reassigned.map((i) => afterIds[i]!)].forEach((id, i) => {
      const source = this.sources.get(id);
      if (source === undefined) this.problems.push(`output ${i} was not made by the step`);
      else this.outputNames.push(identity(source, i));
    });
  }

  /** An untraceable step's eager run stands (every value real); a traceable one is undone, its results disposed. */
  settle(results: tf.Tensor[]): void {
    if (this.problems.length > 0) {
      // The eager run is what the caller gets: every value it returns or keeps must be real.
      this.runFromHere();
      return;
    }
    for (const i of this.reassigned) (this.inputs[i] as tf.Variable).assign(this.before[i]!);
    tf.dispose(results.filter((t) => !this.inputs.includes(t)));
    // Tensors the step keeps beyond itself (a cache, say) get real values.
    if (this.shapeOnly.size > 0) this.runFromHere();
  }

  /** A step that fails while nothing has run leaves its variables as they were. */
  undoUnrun(): void {
    if (this.shapeGraph === null) return;
    const now = this.getInputTensorIds.call(this.backend, [...this.inputs]);
    this.inputs.forEach((t, i) => {
      if (now[i] !== this.inputIds[i] && this.before[i]) (t as tf.Variable).assign(this.before[i]!);
    });
  }

  recording(results: tf.Tensor[]): StepRecording {
    if (this.problems.length > 0) return { results, trace: new UntraceableStepError([...new Set(this.problems)].join('; ')), ran: true };
    const key = [
      ...this.nodes.map((n) => `${n.name}=${n.op}(${n.inputs.join(',')})${[...n.attrs].map(([k, v]) => `${k}:${attrKey(v)}`).join(';')}`),
      `out:${this.outputNames.join(',')}`,
    ].join('\n');
    return {
      results: null,
      trace: { nodes: this.nodes, inputNames: this.inputNames, outputNames: this.outputNames, resultCount: results.length, reassigned: this.reassigned, key },
      ran: this.ran,
    };
  }
}

/** Runs the nodes recorded so far as a function, fed with `inputIds`, for the tensors at `outputs` (on the binding itself, not the recorder). */
function runRecorded(
  backend: NativeBackend,
  binding: NativeBackend['binding'],
  nodes: readonly GraphNode[],
  inputNames: readonly string[],
  inputIds: readonly number[],
  outputs: readonly Source[],
): OutputMetadata[] {
  const name = addGraphFunction(binding, 'egtea_recorded', nodes, inputNames, outputs);
  try {
    return binding.executeOp(name, functionCallAttrs(backend), [...inputIds], outputs.length);
  } finally {
    binding.removeFunction!(name);
  }
}
