// One task of the all-reduce test (all-reduce.test.ts): argv task, then every worker's address.
import * as tf from '@tensorflow/tfjs-core';
import { CollectiveGroup, enableCollectives, unansweringPeer } from '../../src/distributed/collectives.js';
import { DataParallelWorker } from '../../src/distributed/data-parallel.js';
import { GraphStep } from '../../src/engine/graph/graph-step.js';
import { selectBackend } from '../../src/engine/backend.js';

const [taskText, ...addresses] = process.argv.slice(2);
const task = Number(taskText);
await selectBackend('tensorflow');
// A tensor made before collectives are on must stay usable after.
const early = tf.tensor1d([task, task]);
const device = enableCollectives({ addresses, task, timeoutSeconds: 30 });
const group = new CollectiveGroup(addresses.length, 1, 30);
const x = tf.tensor2d([
  [task + 1, 10 * (task + 1)],
  [0.5, -task],
]);
const sum = group.sum(x, 1);
const mean = group.mean(x, 2);
const again = group.sum(tf.add(x, tf.reshape(early, [1, 2])), 1);
const gathered = group.gather([task, 7], task, 3);

// Inside a graph step: the collective is a node of the step's TensorFlow function, run again
// with the same key at every call.
const variable = tf.variable(tf.tensor1d([task + 1, 2]));
const step = new GraphStep();
const graphSteps: number[][] = [];
for (let i = 0; i < 4; i++) {
  const [out] = step.run([variable], () => {
    const mean = group.mean(variable, 4);
    variable.assign(tf.add(variable, mean));
    return [tf.sum(variable)];
  });
  graphSteps.push([...variable.dataSync(), out!.dataSync()[0]!]);
  out!.dispose();
}
const graphMode = step.state().mode;

// Workers that hold different values stop with a message naming them.
const worker = new DataParallelWorker({ addresses, task, timeoutSeconds: 30 }, 1);
worker.agree('a number every worker holds', [0.1, 2]);
let disagreement = '';
try {
  worker.agree('the test value', [0.1 + task * 1e-12]);
} catch (error) {
  disagreement = (error as Error).message;
}
// Both tasks are up: every peer answers TensorFlow's health check.
const unanswering = unansweringPeer({ addresses, task, timeoutSeconds: 30 }, 5000) ?? -1;
// A barrier, so neither task exits while the other still checks it.
group.sum(x, 1).dataSync();
process.stdout.write(
  `${JSON.stringify({ device, sum: Array.from(sum.dataSync()), mean: Array.from(mean.dataSync()), again: Array.from(again.dataSync()), gathered, graphSteps, graphMode, disagreement, unanswering })}\n`,
);
