/**
 * Waiting in integration tests: for a condition, polled, with a bound (never a fixed sleep that
 * hopes the thing is ready by then), or for a count to stop moving.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` every 20 ms until it holds; throw, naming `what`, after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Wait until `count()` has not changed for `quietMs` (packets in flight have landed); bounded by `ms`. */
export async function settled(what: string, count: () => number, quietMs = 100, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  let last = count();
  let since = Date.now();
  for (;;) {
    await sleep(20);
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} to settle`);
  }
}
