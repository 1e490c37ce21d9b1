import { UserError } from '../util/errors.js';
import { unansweringPeer, type WorkerRole } from './collectives.js';
import { tasksNamedIn } from './server-def.js';

/**
 * The one message for a collective that failed because another worker died, hung or cannot be
 * reached (TensorFlow's status names the peer's task), or null for any other error. Nothing of the
 * failed step is saved; the checkpoint before it is what the next start resumes from.
 */
export function collectiveFailure(error: unknown, role: WorkerRole): UserError | null {
  const message = error instanceof Error ? error.message : String(error);
  if (!/collective/i.test(message)) return null;
  const peers = tasksNamedIn(message).filter((t) => t !== role.task && t < role.addresses.length);
  // A timeout names no one: ask each peer whether it still answers.
  const peer = peers[0] ?? unansweringPeer(role, 5000);
  const who = peer === undefined ? 'another worker' : `worker ${peer} (${role.addresses[peer]})`;
  // TensorFlow's own words, first line, without the binding's status prefix.
  const reason = (/Message: (.*)/.exec(message)?.[1] ?? message.split('\n')[0]!).slice(0, 300);
  return new UserError(
    `task ${role.task}: ${who} stopped taking part in training (${reason}). ` +
      'The last checkpoint is kept; start every worker again with the same command to resume from it',
    { cause: error },
  );
}
