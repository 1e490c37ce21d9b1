// The egtea side of `egtea bench model`, in a process of its own so that its peak memory is
// the model's alone: 3D-ResNeXt-101, 19 classes, forward + backward of one clip at batch 1.
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../engine/backend.js';
import { GraphStep } from '../engine/graph/graph-step.js';
import { createLoss } from '../losses/create-loss.js';
import { applyBatchNormUpdates, trainingContext } from '../models/context.js';
import { createModel } from '../models/presets.js';
import { median } from './reference.js';

const [reps = 2, frames = 10, size = 224, graphStep = 1] = process.argv.slice(2).map(Number);
const engine = await selectBackend(process.env.EGTEA_BACKEND);
const model = createModel({ arch: 'resnext3d-101', numClasses: 19, frames, size, seed: 0 });
const loss = createLoss('ce', { numClasses: 19 });
const clip = tf.randomNormal([1, frames, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor5D;
const label = tf.tensor1d([3], 'int32');
const variables = model.parameters.trainableVariables();

function body(): tf.Tensor[] {
  const context = trainingContext();
  const { value, grads } = tf.variableGrads(() => loss(label, model.forward(clip, context)), variables);
  applyBatchNormUpdates(context);
  return [value, ...variables.map((v) => grads[v.name]!)];
}

// As train runs its steps: recorded, then one TensorFlow graph (unless graphStep is 0).
const graph = graphStep ? new GraphStep() : undefined;
const inputs = [clip, label, ...model.parameters.list().map((p) => p.variable)];

function step(): void {
  const outputs = graph ? graph.run(inputs, body) : body();
  // Reading the gradients waits for the whole backward pass.
  for (const t of outputs) t.dataSync();
  tf.dispose(outputs);
}

// Warm-up: two steps (the first allocates everything), as the reference takes; a graph step
// first records two steps, then its first run builds the session.
for (let i = 0; i < (graph ? 3 : 2); i++) step();
const times: number[] = [];
for (let i = 0; i < reps; i++) {
  const start = performance.now();
  step();
  times.push(performance.now() - start);
}
process.stdout.write(
  `${JSON.stringify({ backend: engine.backend, groupedConv3d: engine.groupedConv3d, step: graph?.state() ?? { mode: 'eager', reason: '--no-graph-step' }, ms: median(times), peakRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
);
