/**
 * Bounded waits for a real condition, instead of fixed sleeps that pass on a fast machine and
 * fail (or, worse, pass for the wrong reason) on a slow one.
 *
 *   await waitFor(() => store.stats()!.dbUp === false, { timeoutMs: 10_000, what: 'the writer to see the outage' });
 *   const d = await waitFor(() => inbound[0], { timeoutMs: 5000, what: 'an INVITE' });
 */

export interface WaitOptions {
  /** Give up after this long: the wait then throws, so a condition that never comes fails the test. */
  timeoutMs: number;
  /** How often to look (default 25 ms). */
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
  /** Extra detail for the error message (e.g. a peer's log), read only when the wait fails. */
  detail?: () => string;
}

/** Resolves with the first truthy value of `cond`; throws once `timeoutMs` has passed without one. */
export async function waitFor<T>(cond: () => T | Promise<T>, opts: WaitOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await cond();
      lastError = undefined;
      if (last) return last;
    } catch (e) {
      // A condition that throws (a query against a database that is still starting) is "not yet".
      lastError = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ` (last value: ${String(last)})`;
  const detail = opts.detail ? `\n${opts.detail()}` : '';
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what ?? 'a condition'}${why}${detail}`);
}
