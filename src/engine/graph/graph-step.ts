import * as tf from '@tensorflow/tfjs';
import { nativeBackend, type NativeBackend } from '../native-backend.js';
import { encodeGraphDef } from './graph-def.js';
import { traceStep, UntraceableStepError, type TracedStep } from './step-trace.js';

interface CompiledStep {
  session: number;
  trace: TracedStep;
  inputNames: string;
  outputNames: string;
  reassigned: number[];
  resultCount: number;
}

export interface GraphStepOptions {
  /** Told once why the step stays eager (what it read, or that its graph keeps changing). */
  onEager?: (reason: string) => void;
  /** Traces that must agree, one after another, before the graph is trusted (at least 2). */
  agreeingTraces?: number;
  /** Disagreeing traces in a row after which the step stays eager. */
  maxDisagreements?: number;
}

/** What a step looks like when it runs as one graph, or why it does not. */
export type GraphStepState = { mode: 'eager'; reason: string } | { mode: 'tracing' } | { mode: 'graph'; nodes: number };

/**
 * Runs a step -- a function of a fixed list of input tensors that may reassign the variables
 * among them and returns tensors -- as one TensorFlow graph once its recordings agree.
 *
 * The first calls run eagerly and are recorded (step-trace.ts). When consecutive recordings
 * for the same input shapes are identical, constants included, the recording becomes a
 * TF_Session; later calls feed the inputs, fetch the results and the variables' new values,
 * and assign those. One call in place of some two hundred eager ops saves their dispatch and
 * lets TensorFlow's graph passes fuse kernels (oneDNN's conv + bias + relu, for one).
 *
 * Like tf.function: JavaScript values the step reads become constants, so anything that
 * changes from call to call must be an input tensor. A step whose recordings keep differing
 * (random draws made in JavaScript, say), or that reads a tensor it was not given, stays eager.
 * Without the native engine (or an unpatched binding) every call is eager.
 */
export class GraphStep {
  private readonly compiled = new Map<string, CompiledStep>();
  private readonly lastKey = new Map<string, { key: string; agreeing: number; disagreeing: number }>();
  private eagerReason: string | null = null;
  private readonly agreeingTraces: number;
  private readonly maxDisagreements: number;

  constructor(private readonly options: GraphStepOptions = {}) {
    this.agreeingTraces = Math.max(2, options.agreeingTraces ?? 2);
    this.maxDisagreements = options.maxDisagreements ?? 3;
    const backend = nativeBackend();
    if (backend === null) this.eagerReason = 'not on the native TensorFlow backend';
    else if (typeof backend.binding.loadGraphDef !== 'function') this.eagerReason = "the tfjs binding lacks egtea's patch (run: egtea engine install)";
  }

  /** The mode of the most recent input shapes (callers report it). */
  state(): GraphStepState {
    if (this.eagerReason !== null) return { mode: 'eager', reason: this.eagerReason };
    const last = [...this.compiled.values()].pop();
    return last ? { mode: 'graph', nodes: last.trace.nodes.length } : { mode: 'tracing' };
  }

  run(inputs: readonly tf.Tensor[], body: () => tf.Tensor[]): tf.Tensor[] {
    const backend = nativeBackend();
    if (this.eagerReason !== null || backend === null) return body();
    const signature = inputs.map((t) => `${t.dtype}[${t.shape}]`).join(' ');
    const compiled = this.compiled.get(signature);
    if (compiled) return this.replay(backend, compiled, inputs);

    const { results, reassigned, trace } = traceStep(backend, inputs, body);
    if (trace instanceof UntraceableStepError) {
      this.stayEager(trace.message);
      return results;
    }
    const last = this.lastKey.get(signature);
    const agreeing = last?.key === trace.key ? last.agreeing + 1 : 1;
    const disagreeing = last && last.key !== trace.key ? last.disagreeing + 1 : 0;
    if (disagreeing >= this.maxDisagreements) {
      this.stayEager(`its graph changed in ${disagreeing} recordings in a row (a JavaScript value that varies, such as a random draw, becomes a constant)`);
      return results;
    }
    this.lastKey.set(signature, { key: trace.key, agreeing, disagreeing });
    if (agreeing >= this.agreeingTraces) {
      const session = backend.binding.loadGraphDef!(encodeGraphDef(trace.nodes));
      this.compiled.set(signature, { session, trace, inputNames: trace.inputNames.join(','), outputNames: trace.outputNames.join(','), reassigned, resultCount: results.length });
      this.lastKey.delete(signature);
    }
    return results;
  }

  private replay(backend: NativeBackend, step: CompiledStep, inputs: readonly tf.Tensor[]): tf.Tensor[] {
    const ids = backend.getInputTensorIds([...inputs]);
    const outputs = backend.binding.runSavedModel(step.session, ids, step.inputNames, step.outputNames).map((m) => backend.createOutputTensor(m));
    step.reassigned.forEach((inputIndex, i) => {
      const value = outputs[step.resultCount + i]!;
      (inputs[inputIndex] as tf.Variable).assign(value);
      value.dispose();
    });
    return outputs.slice(0, step.resultCount);
  }

  private stayEager(reason: string): void {
    this.eagerReason = reason;
    this.options.onEager?.(reason);
    this.dispose();
  }

  /** Frees the sessions; later calls run eagerly. */
  dispose(): void {
    const backend = nativeBackend();
    for (const step of this.compiled.values()) backend?.binding.deleteSavedModel(step.session);
    this.compiled.clear();
    this.lastKey.clear();
    this.eagerReason ??= 'disposed';
  }
}
