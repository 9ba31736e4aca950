/**
 * Service level: the share of queue calls "served in time". Peers disagree on abandoned calls, so
 * the mode is configurable and reported next to every figure.
 *
 * For one queue and one threshold T (seconds), over queue visits whose queue phase has ended
 * (answered, abandoned or exited; calls still waiting are not counted), after removing short
 * abandons (caller hung up in under shortAbandonSec; they are out of SL in every mode):
 *
 *   AW = answered with wait <= T           A_in  = abandoned with wait <= T
 *   AN = answered (any wait)               A_out = abandoned with wait > T
 *   X  = exited unanswered (timeout, overflow, queue full, no agents, callback, system)
 *
 *   abandons-met     (Amazon Connect: "removed from queue within T")
 *                    SL = (AW + A_in) / (AN + X + A_in + A_out)
 *   abandons-missed  (Cisco "negative")
 *                    SL = AW / (AN + X + A_in + A_out)
 *   abandons-ignored (Cisco "ignore": abandons inside T drop out; a caller who waited past T and
 *                    then hung up was not served in time, so A_out stays a miss)
 *                    SL = AW / (AN + X + A_out)
 *
 * Exits count as missed in every mode, even inside T: the queue did not answer the caller. Wait is
 * measured from this queue's queue.enter to connect / abandon / exit, in milliseconds, and a wait of
 * exactly T * 1000 ms is inside T.
 */
import { z } from 'zod';

export const ServiceLevelModeSchema = z.enum(['abandons-met', 'abandons-missed', 'abandons-ignored']);
export type ServiceLevelMode = z.infer<typeof ServiceLevelModeSchema>;

export interface ServiceLevelCounts {
  answeredWithin: number;
  answered: number;
  abandonedWithin: number;
  abandonedAfter: number;
  exited: number;
}

export interface ServiceLevelFigure {
  thresholdSec: number;
  mode: ServiceLevelMode;
  /** Numerator: calls counted as served in time. */
  met: number;
  /** Denominator: calls the figure is taken over. */
  base: number;
  /** met / base, or null when base is 0. */
  value: number | null;
}

export function serviceLevel(c: ServiceLevelCounts, mode: ServiceLevelMode, thresholdSec: number): ServiceLevelFigure {
  let met: number;
  let base: number;
  switch (mode) {
    case 'abandons-met':
      met = c.answeredWithin + c.abandonedWithin;
      base = c.answered + c.exited + c.abandonedWithin + c.abandonedAfter;
      break;
    case 'abandons-missed':
      met = c.answeredWithin;
      base = c.answered + c.exited + c.abandonedWithin + c.abandonedAfter;
      break;
    case 'abandons-ignored':
      met = c.answeredWithin;
      base = c.answered + c.exited + c.abandonedAfter;
      break;
  }
  return { thresholdSec, mode, met, base, value: base > 0 ? round4(met / base) : null };
}

/**
 * Per-call verdict under a mode, for the drill-down: true (met), false (missed) or null (not in
 * the figure: short abandon, still waiting, or an abandon inside T in abandons-ignored mode).
 */
export function callVerdict(
  outcome: 'answered' | 'abandoned' | 'exited' | 'waiting',
  waitMs: number,
  shortAbandon: boolean,
  mode: ServiceLevelMode,
  thresholdSec: number,
): boolean | null {
  const within = waitMs <= thresholdSec * 1000;
  switch (outcome) {
    case 'waiting':
      return null;
    case 'answered':
      return within;
    case 'exited':
      return false;
    case 'abandoned':
      if (shortAbandon) return null;
      if (!within) return false;
      return mode === 'abandons-met' ? true : mode === 'abandons-missed' ? false : null;
  }
}

/** Ratios are reported to 4 decimals (0.01 %), everywhere, so JSON, CSV and CLI agree digit for digit. */
export function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
