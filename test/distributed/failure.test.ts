import { describe, expect, it } from 'vitest';
import { collectiveFailure } from '../../src/distributed/failure.js';

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
