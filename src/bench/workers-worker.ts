// One worker of `egtea bench workers` (a process of its own, as train --workers runs them).
//   argv: task arch frames size batch steps reduces address...
// Prints one JSON line: median step time (data-parallel step of `batch` clips, all-reduce in
// the graph step) and median time of one all-reduce of every parameter, packed as train packs it.
import * as tf from '@tensorflow/tfjs-core';
import { environmentValue } from '../util/environment.js';
import { enableCollectives } from '../distributed/collectives.js';
import { DataParallelWorker } from '../distributed/data-parallel.js';
import { selectBackend } from '../engine/backend.js';
import { GraphStep } from '../engine/graph/graph-step.js';
import { createLoss } from '../losses/registry.js';
import { createModel } from '../models/presets.js';
import { Sgd } from '../train/sgd.js';
import { accumulatedTrainStep } from '../train/step.js';
import { median } from './reference.js';

const [taskText, arch, framesText, sizeText, batchText, stepsText, reducesText, ...addresses] = process.argv.slice(2);
const [task, frames, size, batch, steps, reduces] = [taskText, framesText, sizeText, batchText, stepsText, reducesText].map(Number) as [
  number,
  number,
  number,
  number,
  number,
  number,
];
await selectBackend(environmentValue('EGTEA_BACKEND'));
const role = { addresses, task, timeoutSeconds: 600 };
if (addresses.length > 1) enableCollectives(role);
const worker = new DataParallelWorker(role, 1);
const classes = 19;
const model = createModel({ arch: arch!, numClasses: classes, frames, size, seed: 0 });
const loss = createLoss('ce', { numClasses: classes });
const sgd = new Sgd(model.parameters.trainable(), { learningRate: 1e-3, momentum: 0.9, weightDecay: 0 });
const graph = new GraphStep();
const clips = tf.randomNormal([batch, frames, size, size, 3], 0, 1, 'float32', task + 1) as tf.Tensor5D;
const labels = tf.tensor1d(
  Array.from({ length: batch }, (_, i) => (i + task) % classes),
  'int32',
);
const globalBatch = batch * addresses.length;

const step = () => accumulatedTrainStep(model, sgd, loss, [{ clips, labels }], graph, worker.stepShare(globalBatch));
// Recordings first (a graph step is trusted after two agreeing ones).
for (let i = 0; i < 3; i++) step();
const stepMs: number[] = [];
for (let i = 0; i < steps; i++) {
  const started = performance.now();
  step();
  stepMs.push(performance.now() - started);
}

// The all-reduce alone: every trainable parameter's worth of float32, in train's buffers.
const parameters = model.parameters.count();
const buffer = tf.fill([parameters], 1 / (task + 1));
const reduceMs: number[] = [];
for (let i = 0; i < reduces + 1; i++) {
  const started = performance.now();
  const summed = worker.group.sum(buffer, 999);
  summed.dataSync();
  summed.dispose();
  if (i > 0) reduceMs.push(performance.now() - started);
}
const state = graph.state();
process.stdout.write(
  `${JSON.stringify({ task, stepMs: median(stepMs), allReduceMs: addresses.length > 1 ? median(reduceMs) : null, parameters, graph: state.mode })}\n`,
);
