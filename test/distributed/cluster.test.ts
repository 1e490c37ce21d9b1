import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTask, readClusterFile, validateCluster } from '../../src/distributed/cluster.js';
import { collectiveFailure } from '../../src/distributed/failure.js';
import { workerEnvironments } from '../../src/distributed/launcher.js';
import { UserError } from '../../src/util/errors.js';
import { temporaryFolder } from '../helpers.js';
import { docBlock } from '../support/docs.js';

describe('cluster files', () => {
  it('accepts a list of host:port workers', () => {
    expect(validateCluster({ workers: ['node-a:23456', '10.0.0.2:23456', '[::1]:9000'] }, 'c.json').workers).toHaveLength(3);
  });

  it('accepts the example of docs/distributed.md', () => {
    expect(validateCluster(JSON.parse(docBlock('docs/distributed.md', '## On several machines', 'json')), 'docs/distributed.md').workers).toEqual([
      'node-a:23456',
      'node-b:23456',
    ]);
  });

  it('names the file and the field of each mistake', () => {
    const bad: [unknown, RegExp][] = [
      [[], /c\.json: expected an object/],
      [{ worker: ['a:1'] }, /c\.json: unknown field "worker"/],
      [{ workers: [] }, /c\.json: "workers" must be a non-empty list/],
      [{ workers: ['a:1', 'b'] }, /c\.json: "workers"\[1\] is "b"; expected "host:port"/],
      [{ workers: ['a:70000'] }, /"workers"\[0\] is "a:70000"/],
      [{ workers: ['a:1', 'a:1'] }, /"workers"\[1\] repeats "workers"\[0\]/],
    ];
    for (const [value, message] of bad) expect(() => validateCluster(value, 'c.json')).toThrow(message);
  });

  it('reads the file, and says when it is missing or not JSON', async () => {
    const dir = temporaryFolder('egtea-cluster-');
    const file = path.join(dir, 'cluster.json');
    await expect(readClusterFile(file)).rejects.toThrow(new RegExp(`${file}: cannot read the cluster file \\(ENOENT\\)`));
    await fs.writeFile(file, '{"workers": [');
    await expect(readClusterFile(file)).rejects.toThrow(/cluster\.json: not valid JSON/);
    await fs.writeFile(file, '{"workers": ["a:1", "b:2"]}');
    const cluster = await readClusterFile(file);
    expect(checkTask(1, cluster, file)).toBe(1);
    expect(() => checkTask(2, cluster, file)).toThrow(/--task 2: .* lists 2 workers, so the task is 0 to 1/);
    expect(() => checkTask(undefined, cluster, file)).toThrow(UserError);
  });

  it('gives each local worker a GPU, or a share of the cores', () => {
    expect(workerEnvironments(2, ['0', '3'])).toEqual([{ CUDA_VISIBLE_DEVICES: '0' }, { CUDA_VISIBLE_DEVICES: '3' }]);
    expect(() => workerEnvironments(3, ['0', '1'])).toThrow(/shows 2 GPU\(s\)/);
    const cpu = workerEnvironments(2, [], 8);
    // 8 cores over 2 workers, unless the user chose the threads.
    for (const e of cpu) expect(e.TF_NUM_INTRAOP_THREADS).toBe(process.env.TF_NUM_INTRAOP_THREADS || '4');
  });
});

const role = { addresses: ['node-a:1', 'node-b:2'], task: 0, timeoutSeconds: 600 };

describe('collective failures', () => {
  it("name the peer from TensorFlow's status and say how to resume", () => {
    // The status a worker got when its peer was killed (measured with --cluster on localhost).
    const status =
      'Invalid TF_Status: 14\nMessage: Collective ops is aborted by: failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:39637: Failed to connect to remote host: Connection refused\n' +
      'Additional GRPC error information from remote target /job:worker/replica:0/task:1 while calling /tensorflow.WorkerService/RecvBuf:';
    const error = collectiveFailure(new Error(status), role)!;
    expect(error.name).toBe('UserError');
    expect(error.message).toMatch(/^task 0: worker 1 \(node-b:2\) stopped taking part in training \(Collective ops is aborted by: failed to connect/);
    expect(error.message).toMatch(/start every worker again with the same command to resume/);
  });

  it('leave other errors alone', () => {
    expect(collectiveFailure(new Error('ENOSPC: no space left on device'), role)).toBeNull();
  });
});
