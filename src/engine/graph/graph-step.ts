import type * as tf from '@tensorflow/tfjs-core';
import { currentFacts } from '../dispatch.js';
import { nativeBackend, type NativeBackend } from '../native-backend.js';
import { addGraphFunction, functionCallAttrs } from './function-call.js';
import { traceStep, UntraceableStepError, type TracedStep } from './step-trace.js';

interface CompiledStep {
  /** The TensorFlow function's name in the eager context. */
  functionName: string;
  nodes: number;
  reassigned: number[];
  resultCount: number;
  outputCount: number;
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
 * The first calls are recorded (step-trace.ts) from shapes alone, without running (or, where
 * shapes cannot be inferred, eagerly with their updates undone), and the recording itself
 * runs as a TensorFlow function called from the eager context, so every step's numbers come
 * from a graph and recording costs no memory beyond the graph's. Once consecutive recordings for the same input
 * shapes are identical, constants included, the function is trusted: later calls pass the
 * inputs' tensor handles and assign the variables' new values, which stay handles on the
 * device the step ran on (nothing passes through host memory or JavaScript). One call in
 * place of hundreds of eager ops saves their dispatch, lets TensorFlow run independent ops
 * side by side and lets Grappler fuse kernels (oneDNN's convolution + bias + relu, for one).
 *
 * Like tf.function: JavaScript values the step reads become constants, so anything that
 * changes from call to call must be an input tensor. A step whose recordings keep differing
 * (random draws made in JavaScript, say), or that reads a tensor it was not given, stays eager.
 * Without the native engine (or with an unpatched binding) every call is eager.
 */
export class GraphStep {
  private readonly compiled = new Map<string, CompiledStep>();
  /** Recordings not yet trusted, by input signature, with the session built from the last one. */
  private readonly pending = new Map<string, { key: string; step: CompiledStep; agreeing: number; disagreeing: number }>();
  private eagerReason: string | null = null;
  private readonly agreeingTraces: number;
  private readonly maxDisagreements: number;

  constructor(private readonly options: GraphStepOptions = {}) {
    this.agreeingTraces = Math.max(2, options.agreeingTraces ?? 2);
    this.maxDisagreements = options.maxDisagreements ?? 3;
    const facts = currentFacts();
    if (facts.device === null) this.eagerReason = 'not on the native TensorFlow backend';
    else if (!facts.functions) this.eagerReason = "the tfjs binding lacks egtea's patch (run: egtea engine install --force)";
  }

  /** Eager (and why), still recording, or a graph (the latest trusted one's size). */
  state(): GraphStepState {
    if (this.eagerReason !== null) return { mode: 'eager', reason: this.eagerReason };
    const last = [...this.compiled.values()].pop();
    return last ? { mode: 'graph', nodes: last.nodes } : { mode: 'tracing' };
  }

  run(inputs: readonly tf.Tensor[], body: () => tf.Tensor[]): tf.Tensor[] {
    const backend = nativeBackend();
    if (this.eagerReason !== null || backend === null) return body();
    const signature = inputs.map((t) => `${t.dtype}[${t.shape}]`).join(' ');
    const trusted = this.compiled.get(signature);
    if (trusted) return this.replay(backend, trusted, inputs);

    const { results, trace } = traceStep(backend, inputs, body);
    if (trace instanceof UntraceableStepError) {
      this.stayEager(trace.message);
      return results!;
    }
    const last = this.pending.get(signature);
    const agrees = last?.key === trace.key;
    const disagreeing = last && !agrees ? last.disagreeing + 1 : 0;
    if (last && !agrees) backend.binding.removeFunction!(last.step.functionName);
    const step = agrees ? last!.step : this.compile(backend, trace);
    const agreeing = agrees ? last!.agreeing + 1 : 1;

    // Every step's numbers come from a graph, recorded ones included: the recording left the
    // variables as they were, and this very recording runs. Otherwise a run resumed from a
    // checkpoint, which records its first steps again, would round differently from the run
    // it continues.
    const outputs = this.replay(backend, step, inputs);
    if (disagreeing >= this.maxDisagreements) {
      this.pending.delete(signature);
      backend.binding.removeFunction!(step.functionName);
      this.stayEager(`its graph changed in ${disagreeing} recordings in a row (a JavaScript value that varies, such as a random draw, becomes a constant)`);
    } else if (agreeing >= this.agreeingTraces) {
      this.compiled.set(signature, step);
      this.pending.delete(signature);
    } else {
      this.pending.set(signature, { key: trace.key, step, agreeing, disagreeing });
    }
    return outputs;
  }

  private compile(backend: NativeBackend, trace: TracedStep): CompiledStep {
    const functionName = addGraphFunction(backend.binding, 'egtea_step', trace.nodes, trace.inputNames, trace.outputNames);
    // Only the key of a recording is kept (to compare the next one with): not its nodes.
    return { functionName, nodes: trace.nodes.length, reassigned: trace.reassigned, resultCount: trace.resultCount, outputCount: trace.outputNames.length };
  }

  private replay(backend: NativeBackend, step: CompiledStep, inputs: readonly tf.Tensor[]): tf.Tensor[] {
    const ids = backend.getInputTensorIds([...inputs]);
    const outputs = backend.binding.executeOp(step.functionName, functionCallAttrs(backend), ids, step.outputCount).map((m) => backend.createOutputTensor(m));
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

  /** Forgets the functions; later calls run eagerly. */
  dispose(): void {
    const backend = nativeBackend();
    for (const step of [...this.compiled.values(), ...[...this.pending.values()].map((p) => p.step)]) backend?.binding.removeFunction?.(step.functionName);
    this.compiled.clear();
    this.pending.clear();
    this.eagerReason ??= 'disposed';
  }
}
