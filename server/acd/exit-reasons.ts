/**
 * Why a call leaves a queue without reaching an agent: the one vocabulary. The ACD spells every
 * reason; the IVR and the event log see coarser projections of it, defined here rather than
 * re-spelt where they are used:
 *
 * - the IVR's queue node branches on `full`, `timeout` or `closed` (ivrQueueExit);
 * - the event log stores `queue.exit` reasons in its own, older words (loggedExitReason), which
 *   stay as they are because stored rows and reports use them.
 *
 * A caller hanging up is not an exit here: the ACD tells it as an 'abandon' event.
 */

/** Why a call left a queue without reaching an agent (other than the caller hanging up). */
export type ExitReason =
  /** maxLength reached when the caller tried to join. */
  | 'full'
  /** maxWait passed. */
  | 'timeout'
  /** The queue is closed (setQueueOpen(false)) or was removed. */
  | 'closed'
  /** joinWhenEmpty refused the caller, or leaveWhenEmpty sent them out. */
  | 'no-agents'
  /** A callback used up its dial attempts. */
  | 'callback-failed'
  /** Call control withdrew the contact (cancel()). */
  | 'cancelled';

/** The queue node's exit branches in an IVR flow (server/ivr/schema.ts: full, timeout, closed). */
export type IvrQueueExit = Extract<ExitReason, 'full' | 'timeout' | 'closed'>;

/**
 * The branch an IVR queue node takes when the ACD lets the caller go (or refuses them, `invalid`
 * included): full and timeout are their own branches; everything else means "no service here now".
 */
export function ivrQueueExit(reason: ExitReason | 'invalid'): IvrQueueExit {
  return reason === 'full' ? 'full' : reason === 'timeout' ? 'timeout' : 'closed';
}

/**
 * The reasons as the event log stores them (`queue.exit`, server/kpi/events.ts). `overflow` is the
 * KPI engine's own (a caller moved on to another queue) and `system` stands for the reasons the
 * log has no word for.
 */
export const LOGGED_EXIT_REASONS = ['timeout', 'full', 'no-agents', 'overflow', 'callback', 'system'] as const;
export type LoggedExitReason = (typeof LOGGED_EXIT_REASONS)[number];

/** The event log's word for an ACD exit reason. */
export function loggedExitReason(reason: ExitReason): LoggedExitReason {
  switch (reason) {
    case 'full':
    case 'timeout':
    case 'no-agents':
      return reason;
    case 'callback-failed':
      return 'callback';
    default:
      return 'system';
  }
}
