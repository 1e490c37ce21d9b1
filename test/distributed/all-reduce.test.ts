import { describe, expect, it } from 'vitest';
import { freePorts } from '../../src/distributed/ports.js';
import { encodeServerDef } from '../../src/distributed/server-def.js';
import { nativeBackend } from '../../src/engine/native-backend.js';
import { runScript } from './spawn-workers.js';

describe('collectives over TensorFlow gRPC servers', () => {
  it('encodes the ServerDef fields TensorFlow reads', () => {
    const bytes = encodeServerDef(['localhost:1234', 'host-b:5678'], 1);
    const text = Buffer.from(bytes).toString('latin1');
    expect(text).toContain('localhost:1234');
    expect(text).toContain('host-b:5678');
    expect(text).toContain('/job:worker/replica:0/task:0');
    expect(text).toContain('grpc');
    // task_index (field 3, varint) = 1, and port (field 6) = 5678 as a varint
    expect([...bytes]).toEqual(expect.arrayContaining([0x18, 0x01]));
    const port = [0x30, (5678 & 0x7f) | 0x80, 5678 >> 7];
    const at = bytes.findIndex((_, i) => port.every((b, j) => bytes[i + j] === b));
    expect(at).toBeGreaterThan(0);
  });

  it.runIf(nativeBackend() !== null)(
    'two processes all-reduce with CollectiveReduceV2: eagerly, gathered, inside a graph step, and find a disagreement',
    async () => {
      const ports = await freePorts(2);
      const addresses = ports.map((p) => `localhost:${p}`);
      const results = await Promise.all([0, 1].map((task) => runScript('all-reduce-worker.ts', [String(task), ...addresses])));
      const outputs = results.map((r, task) => {
        expect(r.code, `task ${task}: ${r.stderr}`).toBe(0);
        return JSON.parse(r.stdout.trim().split('\n').pop()!) as {
          device: string;
          sum: number[];
          mean: number[];
          again: number[];
          gathered: number[][];
          graphSteps: number[][];
          graphMode: string;
          disagreement: string;
          unanswering: number;
        };
      });
      outputs.forEach((o, task) => {
        expect(o.device).toBe(`/job:worker/replica:0/task:${task}/device:CPU:0`);
        // task 0: [[1, 10], [0.5, 0]]; task 1: [[2, 20], [0.5, -1]]
        expect(o.sum).toEqual([3, 30, 1, -1]);
        expect(o.mean).toEqual([1.5, 15, 0.5, -0.5]);
        // plus the tensors made before collectives were on: [0, 0] and [1, 1]
        expect(o.again).toEqual([4, 31, 2, 0]);
        expect(o.gathered).toEqual([
          [0, 7],
          [1, 7],
        ]);
        // v <- v + mean over the workers, from [1, 2] and [2, 2]: the mean [1.5, 2] is added to each.
        const expected = [
          [task + 2.5, 4],
          [task + 5.5, 8],
          [task + 11.5, 16],
          [task + 23.5, 32],
        ];
        expect(o.graphSteps).toEqual(expected.map((v) => [...v, v[0]! + v[1]!]));
        expect(o.graphMode).toBe('graph');
        expect(o.unanswering).toBe(-1);
        expect(o.disagreement).toMatch(/workers disagree on the test value: task 0 has \[0\.1\], task 1 has \[0\.10000000000100001\]/);
      });
    },
  );
});
