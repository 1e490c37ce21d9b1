import { ProtobufWriter } from '../engine/graph/protobuf-writer.js';

/** The job every egtea task belongs to (TensorFlow's multi-worker convention). */
const WORKER_JOB = 'worker';

/** TensorFlow's name of a task of the worker job, as collectives and health checks take it. */
export function taskName(task: number): string {
  return `/job:${WORKER_JOB}/replica:0/task:${task}`;
}

/** The tasks a text (TensorFlow's status message, say) names by taskName, in order. */
export function tasksNamedIn(text: string): number[] {
  return [...text.matchAll(new RegExp(`/job:${WORKER_JOB}/replica:0/task:(\\d+)`, 'g'))].map((m) => Number(m[1]));
}

/**
 * A tensorflow.ServerDef for task `task` of a cluster whose workers listen at `addresses`
 * (host:port, task order), speaking gRPC, with task 0 leading collective groups. Field numbers
 * are those of tensorflow/core/protobuf/tensorflow_server.proto, cluster.proto and config.proto.
 */
export function encodeServerDef(addresses: readonly string[], task: number): Uint8Array {
  const port = Number(addresses[task]!.slice(addresses[task]!.lastIndexOf(':') + 1));
  return (
    new ProtobufWriter()
      .message(1, (cluster) =>
        // ClusterDef.job: JobDef { name = 1; map<int32, string> tasks = 2 }
        cluster.message(1, (job) => {
          job.string(1, WORKER_JOB);
          addresses.forEach((address, index) => job.message(2, (entry) => entry.int(1, index).string(2, address)));
        }),
      )
      .string(2, WORKER_JOB)
      .int(3, task)
      // ConfigProto.experimental (16).collective_group_leader (1)
      .message(4, (config) => config.message(16, (experimental) => experimental.string(1, taskName(0))))
      .string(5, 'grpc')
      // The port this task binds (on every interface), as its address names it.
      .int(6, port)
      .finish()
  );
}
