// The egtea side of `egtea bench model`, in a process of its own so that its peak memory is
// the model's alone: 3D-ResNeXt-101, 19 classes, forward + backward of one clip at batch 1.
//   argv: reps frames size mode [file]
//   mode graph:    as train runs its steps: recorded, then one TensorFlow graph
//   mode op-by-op: every op dispatched on its own (train --no-graph-step)
//   mode record:   records one step and writes its graph to `file` (no timing)
//   mode replay:   runs the graph in `file` only, so its memory is the graph's without the
//                  recording's
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../engine/backend.js';
import { encodeGraphDef } from '../engine/graph/graph-def.js';
import { functionCallAttrs } from '../engine/graph/function-call.js';
import { GraphStep } from '../engine/graph/graph-step.js';
import { traceStep } from '../engine/graph/step-trace.js';
import { kernelOpsError } from '../engine/kernel-ops.js';
import { nativeBackend } from '../engine/native-backend.js';
import { createLoss } from '../losses/registry.js';
import { applyBatchNormUpdates, trainingContext } from '../models/context.js';
import { createModel } from '../models/presets.js';
import { median } from './reference.js';
import { environmentValue } from '../util/environment.js';

const [reps = 2, frames = 10, size = 224] = process.argv.slice(2, 5).map(Number);
const [mode = 'graph', file = ''] = process.argv.slice(5);
const engine = await selectBackend(environmentValue('EGTEA_BACKEND'));
const model = createModel({ arch: 'resnext3d-101', numClasses: 19, frames, size, seed: 0 });
const loss = createLoss('ce', { numClasses: 19 });
const clip = tf.randomNormal([1, frames, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor5D;
const label = tf.tensor1d([3], 'int32');
const variables = model.parameters.trainableVariables();
const inputs = [clip, label, ...model.parameters.list().map((p) => p.variable)];

function body(): tf.Tensor[] {
  const context = trainingContext();
  const { value, grads } = tf.variableGrads(() => loss(label, model.forward(clip, context)), variables);
  applyBatchNormUpdates(context);
  return [value, ...variables.map((v) => grads[v.name]!)];
}

function stepFunction(): { step: () => tf.Tensor[]; state: () => unknown; warmups: number } {
  if (mode === 'replay') {
    const backend = nativeBackend();
    if (!backend?.binding.addFunction) throw new Error('replay needs the native engine with the patched binding');
    const saved = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as { inputNames: string[]; outputNames: string[]; nodes: number };
    // As GraphStep runs a step: a TensorFlow function called from the eager context.
    const name = 'egtea_bench_replay';
    backend.binding.addFunction(new Uint8Array(fs.readFileSync(file)), name, saved.inputNames.map((n) => `${n}:0`).join(','), saved.outputNames.join(','));
    const attrs = functionCallAttrs(backend);
    const step = () =>
      backend.binding.executeOp(name, attrs, backend.getInputTensorIds(inputs), saved.outputNames.length).map((m) => backend.createOutputTensor(m));
    return { step, state: () => ({ mode: 'graph', nodes: saved.nodes }), warmups: 2 };
  }
  // As train runs its steps: a graph step first records two steps, then its first run builds the session.
  const graph = mode === 'graph' ? new GraphStep() : undefined;
  return {
    step: () => (graph ? graph.run(inputs, body) : body()),
    state: () => graph?.state() ?? { mode: 'eager', reason: '--no-graph-step' },
    warmups: graph ? 3 : 2,
  };
}

if (mode === 'record') {
  const backend = nativeBackend();
  if (!backend) throw new Error('record needs the native engine');
  const { trace } = traceStep(backend, inputs, body);
  if (trace instanceof Error) throw trace;
  fs.writeFileSync(file, encodeGraphDef(trace.nodes));
  fs.writeFileSync(`${file}.json`, JSON.stringify({ inputNames: trace.inputNames, outputNames: trace.outputNames, nodes: trace.nodes.length }));
  process.stdout.write('{}\n');
} else {
  const { step, state, warmups } = stepFunction();
  const run = () => {
    const outputs = step();
    // Reading the gradients waits for the whole backward pass.
    for (const t of outputs) t.dataSync();
    tf.dispose(outputs);
  };
  // Warm-up: two steps (the first allocates everything), as the reference takes.
  for (let i = 0; i < warmups; i++) run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  process.stdout.write(
    `${JSON.stringify({ backend: engine.backend, implementations: engine.implementations, kernelOpsError: kernelOpsError() || null, step: state(), ms: median(times), peakRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
}
