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

/**
 * Erlang A: the M/M/N+M queue (Palm 1943; Garnett, Mandelbaum & Reiman 2002). Like Erlang C, but
 * callers have exponential patience with mean `patienceSeconds` and hang up when it runs out. Unlike
 * Erlang C it is stable at any load (abandons drain the queue), and it does not over-staff peaks the
 * way Erlang C does, because real callers do leave.
 *
 * Computed from the birth-death chain of the number in system k: births λ, deaths min(k, N)·μ +
 * max(k − N, 0)·θ (μ = 1/AHT, θ = 1/patience), truncated where the stationary mass is below 1e-15.
 * A tagged arrival (PASTA) that finds k ≥ N in system queues at position p = k − N + 1; at position
 * i it leaves that place at rate b_i = N·μ + i·θ, forward with probability q_i = (N·μ + (i−1)·θ)/b_i
 * (someone ahead served or abandoned), else by abandoning. Time spent and the way out are
 * independent (competing exponentials), so P(served | p) = Π q_i and the wait of a served caller
 * is Σ Exp(b_i), i = 1..p. Service level needs that sum's distribution by time T: it is found by
 * uniformization of the pure-death chain over positions.
 */
export interface ErlangAResult {
  /** Probability that an arriving caller waits at all (finds every agent busy). */
  pWait: number;
  /** Probability that an arriving caller abandons. */
  pAbandon: number;
  /** Mean wait of answered callers, seconds (callers answered at once count 0), as the KPI engine's ASA. */
  asaSec: number;
  /** Mean wait of all callers, answered or abandoned, seconds (= E[Lq] / λ by Little). */
  meanWaitSec: number;
  /** Answered within T ÷ all arrivals. */
  serviceLevelAll: number;
  /** Answered within T ÷ (arrivals − abandoned within T): the KPI engine's default `abandons-ignored` mode. */
  serviceLevel: number;
  /** Agents' busy share: answered traffic ÷ N. */
  occupancy: number;
}

const TAIL = 1e-15;

/** ln k! for k = 0..n, cumulatively (exact enough and cheap for the team sizes planned here). */
function logFactorials(n: number): Float64Array {
  const f = new Float64Array(n + 1);
  for (let k = 2; k <= n; k++) f[k] = f[k - 1]! + Math.log(k);
  return f;
}

export function erlangA(
  agents: number,
  callsPerSecond: number,
  ahtSeconds: number,
  patienceSeconds: number,
  thresholdSeconds: number,
): ErlangAResult {
  if (!Number.isInteger(agents) || agents < 0) throw new RangeError('erlangA: agents must be an integer >= 0');
  if (!(callsPerSecond >= 0) || !(ahtSeconds > 0) || !(patienceSeconds > 0) || !(thresholdSeconds >= 0)) {
    throw new RangeError('erlangA: rates, handle time and patience must be positive');
  }
  const n = agents;
  const lambda = callsPerSecond;
  const mu = 1 / ahtSeconds;
  const theta = 1 / patienceSeconds;
  if (lambda === 0) return { pWait: 0, pAbandon: 0, asaSec: 0, meanWaitSec: 0, serviceLevelAll: 1, serviceLevel: 1, occupancy: 0 };
  const a = lambda / mu;

  // Log weights of the unnormalised stationary distribution: A^k/k! up to N, then the queue part.
  const lf = logFactorials(n);
  const logW: number[] = [];
  for (let k = 0; k <= n; k++) logW.push(k * Math.log(a) - lf[k]!);
  let peak = Math.max(...logW);
  // Beyond N each step multiplies by λ / (Nμ + jθ), which falls below 1 and keeps falling: stop at the tail.
  for (let j = 1; ; j++) {
    const next = logW[logW.length - 1]! + Math.log(lambda / (n * mu + j * theta));
    logW.push(next);
    if (next > peak) peak = next;
    else if (next - peak < Math.log(TAIL) && lambda < n * mu + j * theta) break;
    if (j > 10_000_000) throw new RangeError('erlangA: queue tail did not converge');
  }
  let total = 0;
  const pi = logW.map((l) => Math.exp(l - peak));
  for (const p of pi) total += p;
  for (let k = 0; k < pi.length; k++) pi[k]! /= total;

  let immediate = 0;
  for (let k = 0; k < n; k++) immediate += pi[k]!;
  const positions = pi.length - n; // position p = 1..positions carries pi[n + p - 1]
  const start = new Float64Array(positions + 1);
  for (let p = 1; p <= positions; p++) start[p] = pi[n + p - 1]!;

  // P(served | p) and E[wait | served, p] by the product/sum over positions 1..p.
  let served = immediate;
  let servedWait = 0;
  let meanQueue = 0;
  let prodQ = 1;
  let sumInv = 0;
  for (let p = 1; p <= positions; p++) {
    const b = n * mu + p * theta;
    prodQ *= (n * mu + (p - 1) * theta) / b;
    sumInv += 1 / b;
    served += start[p]! * prodQ;
    servedWait += start[p]! * prodQ * sumInv;
  }
  for (let k = n + 1; k < pi.length; k++) meanQueue += (k - n) * pi[k]!;
  const pAbandon = Math.max(0, 1 - served);
  const { servedBy, abandonedBy } = absorbedBy(start, n * mu, theta, thresholdSeconds);
  const slAll = immediate + servedBy;
  const denominator = 1 - abandonedBy;
  return {
    pWait: 1 - immediate,
    pAbandon,
    asaSec: served > 0 ? servedWait / served : 0,
    meanWaitSec: meanQueue / lambda,
    serviceLevelAll: slAll,
    serviceLevel: denominator > 0 ? Math.min(1, slAll / denominator) : 1,
    occupancy: n > 0 ? Math.min(1, (a * (1 - pAbandon)) / n) : 0,
  };
}

/**
 * Uniformization of the pure-death chain over queue positions: mass served and mass abandoned by
 * time t, starting from `start` (start[p] = probability of joining at position p). Poisson weights
 * are taken in log space so a long threshold on a busy queue (Λt in the thousands) does not underflow.
 */
function absorbedBy(start: Float64Array, serveRate: number, theta: number, t: number): { servedBy: number; abandonedBy: number } {
  const positions = start.length - 1;
  if (positions === 0 || t === 0) return { servedBy: 0, abandonedBy: 0 };
  const rateOut = (i: number) => serveRate + i * theta;
  const bigLambda = rateOut(positions);
  const lt = bigLambda * t;
  let x = Float64Array.from(start);
  let y = new Float64Array(positions + 1);
  let served = 0;
  let abandoned = 0;
  let servedBy = 0;
  let abandonedBy = 0;
  let logFact = 0;
  let cumulative = 0;
  const maxSteps = Math.ceil(lt + 12 * Math.sqrt(lt) + 30);
  for (let m = 0; m <= maxSteps; m++) {
    if (m > 0) logFact += Math.log(m);
    const w = Math.exp(-lt + m * Math.log(lt) - logFact);
    servedBy += w * served;
    abandonedBy += w * abandoned;
    cumulative += w;
    if (m > lt && 1 - cumulative < 1e-12) break;
    // One step of the embedded chain: from position i, forward with (Nμ+(i−1)θ)/Λ, abandon θ/Λ.
    y.fill(0);
    for (let i = 1; i <= positions; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      const forward = (serveRate + (i - 1) * theta) / bigLambda;
      const leave = theta / bigLambda;
      y[i] = y[i]! + xi * (1 - forward - leave);
      if (i === 1) served += xi * forward;
      else y[i - 1] = y[i - 1]! + xi * forward;
      abandoned += xi * leave;
    }
    [x, y] = [y, x];
  }
  // Whatever Poisson mass is left (< 1e-12) is the chain at its state after the last step.
  const rest = Math.max(0, 1 - cumulative);
  return { servedBy: servedBy + rest * served, abandonedBy: abandonedBy + rest * abandoned };
}
