/**
 * Erlang C: the M/M/N queue (Poisson arrivals, exponential handle times, N agents, callers who
 * wait forever). The classic staffing model; used here to check the ACD's simulated service level
 * and by workforce planning to size teams.
 *
 * traffic A = arrival rate x mean handle time, in Erlangs. All functions are defined only for
 * A < N (otherwise the queue grows without bound): they return probability 1 / Infinity then.
 */

/** Erlang B blocking probability, by the stable recursion B(k) = A·B(k-1) / (k + A·B(k-1)). */
export function erlangB(agents: number, traffic: number): number {
  if (!(agents >= 0) || !(traffic >= 0)) throw new RangeError('erlangB: agents and traffic must be >= 0');
  let b = 1;
  for (let k = 1; k <= agents; k++) b = (traffic * b) / (k + traffic * b);
  return b;
}

/** Probability that a caller has to wait at all (Erlang C). */
export function erlangC(agents: number, traffic: number): number {
  if (traffic >= agents) return 1;
  const b = erlangB(agents, traffic);
  return (agents * b) / (agents - traffic * (1 - b));
}

/** Fraction of callers answered within `thresholdSeconds`. */
export function serviceLevel(agents: number, traffic: number, ahtSeconds: number, thresholdSeconds: number): number {
  if (traffic >= agents) return 0;
  return 1 - erlangC(agents, traffic) * Math.exp((-(agents - traffic) * thresholdSeconds) / ahtSeconds);
}

/** Average speed of answer in seconds, over all callers (those answered at once count as 0). */
export function averageSpeedOfAnswer(agents: number, traffic: number, ahtSeconds: number): number {
  if (traffic >= agents) return Infinity;
  return (erlangC(agents, traffic) * ahtSeconds) / (agents - traffic);
}

/** Fewest agents meeting `target` service level (fraction) within `thresholdSeconds`. */
export function agentsForServiceLevel(
  traffic: number,
  ahtSeconds: number,
  thresholdSeconds: number,
  target: number,
  maxAgents = 100_000,
): number | undefined {
  for (let n = Math.max(1, Math.floor(traffic) + 1); n <= maxAgents; n++) {
    if (serviceLevel(n, traffic, ahtSeconds, thresholdSeconds) >= target) return n;
  }
  return undefined;
}
