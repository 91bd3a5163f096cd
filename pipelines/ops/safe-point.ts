/**
 * Safe points: places in a run where stopping leaves the database consistent (between steps, between a load's
 * tables). A run asked to stop (SIGINT/SIGTERM) stops at the next one.
 *
 * Tests use them to freeze or slow a real child process at a known place before killing it:
 *   RETARGET_TEST_HOLD_AT=<point>         wait there until the process is killed or asked to stop
 *   RETARGET_TEST_DELAY_AT=<point>=<ms>   sleep there
 * Points are `step:<step name>` (e.g. step:segments:evaluate), `load:<table>` (e.g. load:orders) and
 * `commit:<table>` (inside a table load's transaction, just before it commits).
 */
export class RunCancelled extends Error {
  constructor(readonly point: string) {
    super('stopped on request at a safe point');
    this.name = 'RunCancelled';
  }
}

export async function safePoint(point: string, signal?: AbortSignal): Promise<void> {
  const delay = process.env.RETARGET_TEST_DELAY_AT;
  if (delay) {
    const at = delay.lastIndexOf('=');
    if (delay.slice(0, at) === point) await sleep(Number(delay.slice(at + 1)), signal);
  }
  if (process.env.RETARGET_TEST_HOLD_AT === point) {
    process.stderr.write(`retarget: holding at ${point} (pid ${process.pid})\n`);
    await sleep(Number.POSITIVE_INFINITY, signal);
  }
  if (signal?.aborted) throw new RunCancelled(point);
}

/** Sleeps (keeping the process alive) until the time passes or the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : setInterval(() => {}, 60_000);
    function done() {
      clearTimeout(timer);
      clearInterval(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}

/**
 * The same test hooks for synchronous call sites (a loader's progress callback): holding blocks the thread,
 * which is what a test that SIGKILLs the process there wants. No cancellation here.
 */
export function safePointSync(point: string): void {
  const delay = process.env.RETARGET_TEST_DELAY_AT;
  const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  if (delay) {
    const at = delay.lastIndexOf('=');
    if (delay.slice(0, at) === point) block(Number(delay.slice(at + 1)));
  }
  if (process.env.RETARGET_TEST_HOLD_AT === point) {
    process.stderr.write(`retarget: holding at ${point} (pid ${process.pid})\n`);
    for (;;) block(60_000);
  }
}
