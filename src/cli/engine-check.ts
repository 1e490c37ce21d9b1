import * as tf from '@tensorflow/tfjs-core';
import type { EngineInfo } from '../engine/backend.js';
import { checkOps, relativeError, type OpAgreement } from '../engine/check-ops.js';
import { GraphStep } from '../engine/graph/graph-step.js';
import { createLoss } from '../losses/registry.js';
import { createModel } from '../models/presets.js';
import { Sgd } from '../train/sgd.js';
import { trainStep } from '../train/step.js';

export interface StepCheckOptions {
  arch: string;
  batch: number;
  frames: number;
  size: number;
  /** Timed function steps after the two recordings. */
  reps: number;
}

export interface StepAgreement {
  arch: string;
  batch: number;
  frames: number;
  size: number;
  /** Nodes of the step's TensorFlow function (null when the step stayed eager). */
  nodes: number | null;
  loss: { eager: number; function: number };
  /** Worst variable: its update (new - old) on the function route against the eager one, relative to the eager update's scale. */
  worstUpdate: { variable: string; error: number };
  tolerance: number;
  ok: boolean;
  seconds: { eager: number; recorded: number; function: number[] };
  clipsPerSecond: number | null;
  /** The process's peak resident memory so far. */
  peakRssMiB: number;
  /** Device memory is not readable through the binding. */
  peakDeviceMiB: null;
}

export interface EngineCheckReport {
  engine: Pick<EngineInfo, 'backend' | 'device' | 'tensorflowVersion' | 'implementations'>;
  ops: OpAgreement[];
  step: StepAgreement;
  ok: boolean;
}

// One step of a deep network in float32, summed in another order (fused kernels, Grappler):
// updates agree to about 1e-5..1e-3 of their scale; a wrong gradient is off by its own size.
const STEP_TOLERANCE = 1e-2;

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** One training step of the model as a TensorFlow function against the eager step from the same state. */
function checkStep(options: StepCheckOptions): StepAgreement {
  const { arch, batch, frames, size } = options;
  const numClasses = 19;
  const model = createModel({ arch, numClasses, frames, size, seed: 0 });
  const loss = createLoss('ce', { numClasses });
  const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  // Momentum buffers exist before the first step, so the step reads them as inputs.
  optimizer.restore(new Map(model.parameters.trainable().map((p) => [p.name, tf.zerosLike(p.variable)])), 'engine check');
  const clips = tf.randomNormal([batch, frames, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor5D;
  const labels = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => (i * 7) % numClasses),
    'int32',
  );
  const names = [...model.parameters.list().map((p) => p.name), ...[...optimizer.state().keys()].map((k) => `momentum of ${k}`)];
  const state = () => [...model.parameters.list().map((p) => p.variable), ...(optimizer.state().values() as Iterable<tf.Variable>)];
  const graph = new GraphStep();
  try {
    const before = state().map((v) => tf.clone(v));
    let start = performance.now();
    const eagerLoss = trainStep(model, optimizer, loss, clips, labels);
    const eagerSeconds = seconds(start);
    const eagerUpdates = state().map((v, i) => tf.sub(v, before[i]!));
    state().forEach((v, i) => v.assign(before[i]!));
    start = performance.now();
    // Recorded (from shapes alone, nothing runs), then run as the recording's function.
    const functionLoss = trainStep(model, optimizer, loss, clips, labels, graph);
    const recordedSeconds = seconds(start);
    let worst = { variable: '', error: 0 };
    state().forEach((v, i) => {
      const error = tf.tidy(() => relativeError(tf.sub(v, before[i]!), eagerUpdates[i]!));
      if (error > worst.error || worst.variable === '') worst = { variable: names[i]!, error };
    });
    tf.dispose([...before, ...eagerUpdates]);
    const lossError = Math.abs(functionLoss - eagerLoss) / Math.max(1, Math.abs(eagerLoss));
    // The second recording makes the function trusted; later steps only call it.
    trainStep(model, optimizer, loss, clips, labels, graph);
    const functionSeconds: number[] = [];
    for (let i = 0; i < options.reps; i++) {
      start = performance.now();
      trainStep(model, optimizer, loss, clips, labels, graph);
      functionSeconds.push(seconds(start));
    }
    const graphState = graph.state();
    const sorted = [...functionSeconds].sort((a, b) => a - b);
    const median = sorted.length > 0 ? sorted[Math.floor(sorted.length / 2)]! : null;
    return {
      arch,
      batch,
      frames,
      size,
      nodes: graphState.mode === 'graph' ? graphState.nodes : null,
      loss: { eager: eagerLoss, function: functionLoss },
      worstUpdate: worst,
      tolerance: STEP_TOLERANCE,
      ok: graphState.mode === 'graph' && lossError <= STEP_TOLERANCE && worst.error <= STEP_TOLERANCE,
      seconds: { eager: eagerSeconds, recorded: recordedSeconds, function: functionSeconds },
      clipsPerSecond: median ? batch / median : null,
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      peakDeviceMiB: null,
    };
  } finally {
    graph.dispose();
    tf.dispose([clips, labels]);
    optimizer.dispose();
    loss.dispose();
    model.parameters.dispose();
  }
}

/** The self-check `egtea engine check` runs: every op with several implementations, then a training step. */
export function runEngineCheck(engine: EngineInfo, options: StepCheckOptions): EngineCheckReport {
  const ops = checkOps(engine.backend === 'tensorflow' ? engine.device : null);
  const step = checkStep(options);
  return {
    engine: { backend: engine.backend, device: engine.device, tensorflowVersion: engine.tensorflowVersion, implementations: engine.implementations },
    ops,
    step,
    ok: ops.every((o) => o.ok) && step.ok,
  };
}

export function formatEngineCheck(report: EngineCheckReport): string {
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL');
  const lines = [`engine check on ${report.engine.device} (TensorFlow ${report.engine.tensorflowVersion ?? 'not loaded'})`];
  for (const o of report.ops) {
    const errors = Object.entries(o.errors)
      .map(([k, v]) => `${k} ${v.toExponential(1)}`)
      .join(', ');
    lines.push(`${mark(o.ok)} ${o.op}: ${o.implementation} vs ${o.reference} (${errors}; tolerance ${o.tolerance})`);
  }
  const s = report.step;
  lines.push(
    `${mark(s.ok)} ${s.arch} training step, batch ${s.batch}, ${s.frames}x${s.size}x${s.size}, as a function (${s.nodes ?? 'no'} nodes) vs eager: ` +
      `loss ${s.loss.function.toFixed(5)} vs ${s.loss.eager.toFixed(5)}, worst update ${s.worstUpdate.error.toExponential(1)} (${s.worstUpdate.variable}; tolerance ${s.tolerance})`,
    `     eager step ${s.seconds.eager.toFixed(1)} s, recorded step ${s.seconds.recorded.toFixed(1)} s, function steps ${s.seconds.function.map((t) => t.toFixed(1)).join(', ')} s` +
      `${s.clipsPerSecond === null ? '' : ` = ${s.clipsPerSecond.toFixed(2)} clips/s`}; peak RSS ${s.peakRssMiB} MiB`,
    report.ok ? 'all implementations agree' : 'DISAGREEMENT: see FAIL above',
  );
  return lines.join('\n');
}
