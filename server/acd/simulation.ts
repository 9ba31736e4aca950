/**
 * Discrete-event simulation of a contact centre around the real ACD engine: seeded Poisson
 * arrivals, exponential handle times and caller patience, agents who answer after a ring delay,
 * all on a FakeClock. Used by the ACD's tests (invariants, Erlang C agreement, EWT accuracy), the
 * benchmark, and later by staffing what-ifs. Deterministic for a given seed.
 */
import { FakeClock } from '../../lib/clock.ts';
import { Acd, type AcdInit } from './acd.ts';
import type { AcdEvent } from './events.ts';

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exponentially distributed sample with the given mean (inverse transform). */
export function exponential(rand: () => number, mean: number): number {
  return -mean * Math.log(1 - rand());
}

export interface ArrivalStream {
  queue: string;
  /** Mean calls per hour (Poisson). */
  perHour: number;
  /** Caller priority; default 0. */
  priority?: number;
}

export interface SimulationConfig {
  seed: number;
  queues: AcdInit['queues'];
  agents: AcdInit['agents'];
  options?: AcdInit['options'];
  auxCodes?: AcdInit['auxCodes'];
  arrivals: ArrivalStream[];
  /** Total calls to generate (bounded). */
  calls: number;
  /** Mean talk time in seconds (exponential). */
  talkSeconds: number;
  /** Ms between an offer and the agent answering; default 0. */
  answerDelayMs?: number;
  /** Probability that an offered agent lets it ring out instead (ring-no-answer); default 0. */
  missProbability?: number;
  /** Mean caller patience in seconds (exponential); undefined = callers never hang up. */
  patienceSeconds?: number;
  /** Run acd.audit() every this many events; 0 = never. */
  auditEvery?: number;
  /** Called for every event (tests add their own checks). */
  onEvent?: (e: AcdEvent, acd: Acd) => void;
  /** Ms of simulated time before the first arrival; agents log in at 0. */
  warmupMs?: number;
}

export interface CallRecord {
  callId: string;
  queue: string;
  priority: number;
  arrivedAt: number;
  /** EWT told at enqueue (seconds), null when nobody staffed the queue. */
  ewtSeconds: number | null;
  positionAtEnqueue: number;
  connectedAt?: number;
  agentId?: string;
  endedAt?: number;
  outcome?: 'answered' | 'abandoned' | 'exit';
}

export interface SimulationResult {
  acd: Acd;
  clock: FakeClock;
  calls: Map<string, CallRecord>;
  events: number;
  auditFailures: string[];
  /** Simulated ms from the first arrival to the last event. */
  durationMs: number;
}

export function simulate(cfg: SimulationConfig): SimulationResult {
  const rand = mulberry32(cfg.seed);
  const clock = new FakeClock();
  const start = clock.now();
  const acd = new Acd({
    clock,
    queues: cfg.queues,
    agents: cfg.agents,
    auxCodes: cfg.auxCodes ?? [],
    options: cfg.options ?? {},
  });
  const calls = new Map<string, CallRecord>();
  const auditFailures: string[] = [];
  let events = 0;
  const answerDelay = cfg.answerDelayMs ?? 0;
  const miss = cfg.missProbability ?? 0;

  acd.on('event', (e) => {
    events++;
    cfg.onEvent?.(e, acd);
    switch (e.type) {
      case 'offer':
        if (miss > 0 && rand() < miss) break; // let it ring out: the ACD's own timer fires RONA
        clock.setTimeout(() => {
          // The call may have gone meanwhile (abandon, ring-all answered elsewhere): the ACD says no.
          acd.answered(e.callId, e.agentId);
        }, answerDelay);
        break;
      case 'connect': {
        const r = calls.get(e.callId);
        if (r) {
          r.connectedAt = e.at;
          r.agentId = e.agentId;
        }
        clock.setTimeout(() => acd.callEnded(e.callId), exponential(rand, cfg.talkSeconds * 1000));
        break;
      }
      case 'callEnd': {
        const r = calls.get(e.callId);
        if (r) {
          r.endedAt = e.at;
          r.outcome = 'answered';
        }
        break;
      }
      case 'abandon':
      case 'exit': {
        const r = calls.get(e.callId);
        if (r && !r.outcome) {
          r.endedAt = e.at;
          r.outcome = e.type === 'abandon' ? 'abandoned' : 'exit';
        }
        break;
      }
      case 'agentState':
        // Simulated agents click "ready" again a few seconds after a miss.
        if (e.to === 'not-ready' && e.reason === 'missed') clock.setTimeout(() => acd.agentReady(e.agentId), 5000);
        break;
      default:
        break;
    }
    if (cfg.auditEvery && events % cfg.auditEvery === 0) {
      // Listeners run once the command that caused the event is complete, so the engine is
      // consistent here and may be audited on the spot.
      for (const v of acd.audit()) if (auditFailures.length < 50) auditFailures.push(`${clock.now() - start}ms: ${v}`);
    }
  });

  for (const a of cfg.agents) acd.agentLogin(a.id);

  const total = cfg.arrivals.reduce((s, a) => s + a.perHour, 0);
  const meanGapMs = 3_600_000 / total;
  let made = 0;
  const arrive = (): void => {
    const n = ++made;
    // Pick the stream in proportion to its rate: merged Poisson streams are one Poisson stream.
    let u = rand() * total;
    let stream = cfg.arrivals[0]!;
    for (const s of cfg.arrivals) {
      stream = s;
      u -= s.perHour;
      if (u < 0) break;
    }
    const callId = `c${n}`;
    const priority = stream.priority ?? 0;
    // Recorded before enqueue: the connect event may come from inside enqueue.
    const rec: CallRecord = { callId, queue: stream.queue, priority, arrivedAt: clock.now(), ewtSeconds: null, positionAtEnqueue: 0 };
    calls.set(callId, rec);
    const res = acd.enqueue({ callId, queue: stream.queue, priority, callerId: `+1555${n}` });
    if (res.ok) {
      rec.ewtSeconds = res.ewtSeconds;
      rec.positionAtEnqueue = res.position;
    }
    if (!res.ok) {
      rec.outcome = 'exit';
      rec.endedAt = clock.now();
    }
    if (cfg.patienceSeconds !== undefined && res.ok) {
      clock.setTimeout(
        () => {
          const r = calls.get(callId);
          if (r && r.connectedAt === undefined && r.outcome === undefined) acd.abandon(callId);
        },
        exponential(rand, cfg.patienceSeconds * 1000),
      );
    }
    if (made < cfg.calls) clock.setTimeout(arrive, exponential(rand, meanGapMs));
  };
  clock.setTimeout(arrive, (cfg.warmupMs ?? 0) + exponential(rand, meanGapMs));

  // Bounded: every call generates a handful of timers; a runaway loop is a defect, not a hang.
  const limit = cfg.calls * 200 + 10_000;
  let steps = 0;
  let lastEventAt = start;
  for (let next = clock.nextAt(); next !== undefined && steps < limit; next = clock.nextAt(), steps++) {
    clock.advanceTo(next);
    lastEventAt = next;
  }
  if (steps >= limit) auditFailures.push(`simulation did not settle within ${limit} timer steps`);
  for (const v of acd.audit()) auditFailures.push(`final: ${v}`);
  acd.dispose();
  return { acd, clock, calls, events, auditFailures, durationMs: lastEventAt - start };
}
