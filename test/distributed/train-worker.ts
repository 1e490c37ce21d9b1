// One data-parallel worker of the equivalence and failure tests: argv task, data root, run
// folder, epochs, then every worker's address. Trains the small test pipeline with its
// accumulation spread over the workers (one micro-batch each).
import { enableCollectives } from '../../src/distributed/collectives.js';
import { DataParallelWorker, workerAccumulation } from '../../src/distributed/data-parallel.js';
import { selectBackend } from '../../src/engine/backend.js';
import { train } from '../../src/train/trainer.js';
import { distributedTestPipeline } from './test-pipeline.js';

const [taskText, dataRoot, out, epochsText, ...addresses] = process.argv.slice(2);
const task = Number(taskText);
await selectBackend('tensorflow');
const role = { addresses, task, timeoutSeconds: 60 };
enableCollectives(role);
const pipeline = distributedTestPipeline(Number(epochsText));
const result = await train({
  pipeline,
  dataRoot: dataRoot!,
  out: out!,
  checkpointMinutes: 0,
  dataParallel: new DataParallelWorker(role, workerAccumulation(pipeline.schedule.accumulation, addresses.length)),
  log: (line) => process.stderr.write(`[task ${task}] ${line}\n`),
  onBatchEnd: (epoch, batch) => process.stderr.write(`[task ${task}] trained epoch ${epoch} batch ${batch}\n`),
});
process.stdout.write(`${JSON.stringify({ task, cdb: result.epochs.map((e) => e.cdb), resumedFrom: result.resumedFrom, resumedInside: result.resumedInside })}\n`);
