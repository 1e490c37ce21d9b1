/**
 * Runs `work` (writing a checkpoint) so that a SIGTERM arriving meanwhile -- the supervisor of
 * data-parallel workers stopping the others after one failed -- ends the process only once the
 * work is done: the finished batches it saves are not lost. Outside such work SIGTERM keeps its
 * default effect, which also ends a process blocked in a collective (no JavaScript runs there).
 */
export async function withTerminationDeferred<T>(work: () => Promise<T>): Promise<T> {
  let received = false;
  const note = () => {
    received = true;
  };
  process.on('SIGTERM', note);
  try {
    return await work();
  } finally {
    process.off('SIGTERM', note);
    // With the listener gone, the signal has its default effect again.
    if (received) process.kill(process.pid, 'SIGTERM');
  }
}
