// One task of the all-reduce test (all-reduce.test.ts): argv task, then every worker's address.
import * as tf from '@tensorflow/tfjs';
import { CollectiveGroup, enableCollectives } from '../../src/distributed/collectives.js';
import { selectBackend } from '../../src/engine/backend.js';

const [taskText, ...addresses] = process.argv.slice(2);
const task = Number(taskText);
await selectBackend('tensorflow');
// A tensor made before collectives are on must stay usable after.
const early = tf.tensor1d([task, task]);
const device = enableCollectives({ addresses, task, timeoutSeconds: 30 });
const group = new CollectiveGroup(addresses.length, 1, 30);
const x = tf.tensor2d([[task + 1, 10 * (task + 1)], [0.5, -task]]);
const sum = group.sum(x, 1);
const mean = group.mean(x, 2);
const again = group.sum(tf.add(x, early.reshape([1, 2])), 1);
const gathered = group.gather([task, 7], task, 3);
process.stdout.write(`${JSON.stringify({ device, sum: Array.from(sum.dataSync()), mean: Array.from(mean.dataSync()), again: Array.from(again.dataSync()), gathered })}\n`);
