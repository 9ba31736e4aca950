/**
 * ACD routing decision latency at scale, plus the simulation figures the ACD is judged on.
 *
 *   npm run bench -- acd [--waiting 10000] [--agents 5000] [--skills 50] [--decisions 20000]
 *
 * Build a centre with `skills` single-skill queues and skills/5 two-skill queues, each with two
 * escalation steps; `agents` agents with 2..5 random skills at random levels. Fill it until every
 * agent is busy and `waiting` calls wait, then time:
 * - agent-side decisions: an agent's call ends (no wrap-up), the engine picks the best waiting call
 *   among all queues the agent serves and offers it (one callEnded() including event delivery);
 * - call-side decisions: with half the agents idle and nobody waiting, a new call picks an agent by
 *   the queue's strategy (one enqueue()).
 * Then a seeded simulation reports EWT accuracy and the service level against Erlang C.
 * Prints one JSON line.
 */
import { PerformanceObserver, constants as perfConstants, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { FakeClock } from '../lib/clock.ts';
import { Acd } from '../server/acd/acd.ts';
import { AgentSchema, QueueSchema, type Queue, type Strategy } from '../server/acd/config.ts';
import { serviceLevel } from '../server/acd/erlang.ts';
import { mulberry32, simulate } from '../server/acd/simulation.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : dflt;
}

const WAITING = arg('waiting', 10_000);
const AGENTS = arg('agents', 5000);
const SKILLS = arg('skills', 50);
const DECISIONS = arg('decisions', 20_000);

/** Every GC pause of the run, on the same timeline as performance.now(). */
const gcs: { start: number; ms: number; kind: number }[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
    gcs.push({ start: e.startTime, ms: e.duration, kind: e.detail?.kind ?? 0 });
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
/** Let the observer's queued entries arrive (they are delivered on a later turn of the loop). */
const flushGc = () => new Promise((r) => setTimeout(r, 50));

/** GC pauses that began inside [from, to]: counts by kind, total and longest pause. */
function gcIn(from: number, to: number) {
  const inside = gcs.filter((g) => g.start >= from && g.start <= to);
  const minor = inside.filter((g) => g.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR).length;
  const major = inside.filter((g) => g.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR).length;
  return {
    minor,
    major,
    other: inside.length - minor - major,
    total_ms: round(
      inside.reduce((t, g) => t + g.ms, 0),
      2,
    ),
    max_ms: round(Math.max(0, ...inside.map((g) => g.ms)), 2),
  };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round = (x: number, d = 4) => Number(x.toFixed(d));

function buildCentre(seed: number) {
  const rand = mulberry32(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const strategies: Strategy[] = ['longest-idle', 'longest-idle', 'highest-skill', 'least-occupied', 'round-robin'];
  const queues: Record<string, Queue> = {};
  const steps = [
    { after: 30, relaxMinLevel: 1 },
    { after: 90, addSkills: [{ skill: 's0', minLevel: 1 }] },
  ];
  for (let s = 0; s < SKILLS; s++) {
    queues[`q${s}`] = QueueSchema.parse({
      skills: [{ skill: `s${s}`, minLevel: 1 + pick(4) }],
      priority: pick(3),
      strategy: strategies[pick(strategies.length)],
      wrapUp: 0,
      offerTimeout: 300,
      escalation: steps,
    });
  }
  for (let m = 0; m < Math.max(1, Math.floor(SKILLS / 5)); m++) {
    queues[`m${m}`] = QueueSchema.parse({
      skills: [
        { skill: `s${pick(SKILLS)}`, minLevel: 1 + pick(3) },
        { skill: `s${pick(SKILLS)}`, minLevel: 1 },
      ],
      priority: pick(3),
      wrapUp: 0,
      offerTimeout: 300,
      escalation: steps,
    });
  }
  const agents = Array.from({ length: AGENTS }, (_, i) => {
    const skills: Record<string, number> = {};
    const n = 2 + pick(4);
    for (let k = 0; k < n; k++) skills[`s${pick(SKILLS)}`] = 1 + pick(10);
    return AgentSchema.parse({ id: `a${i}`, name: `Agent ${i}`, password: 'secret', skills });
  });
  return { queues, agents, names: Object.keys(queues), rand };
}

function agentSide() {
  const { queues, agents, names, rand } = buildCentre(1);
  const clock = new FakeClock();
  const acd = new Acd({ clock, queues, agents, options: { maxMisses: 0 } });
  // Read through a function: TypeScript cannot see the listener assign it.
  const seen: { offer: { callId: string; agentId: string } | undefined } = { offer: undefined };
  acd.on('event', (e) => {
    if (e.type === 'offer') seen.offer = { callId: e.callId, agentId: e.agentId };
  });
  const lastOffer = (): { callId: string; agentId: string } | undefined => seen.offer;
  for (const a of agents) acd.agentLogin(a.id);
  const connected: string[] = [];
  let n = 0;
  const enqueue = () => {
    seen.offer = undefined;
    const r = acd.enqueue({ callId: `c${++n}`, queue: names[Math.floor(rand() * names.length)]!, priority: Math.floor(rand() * 4) });
    const o = lastOffer();
    if (r.ok && o) {
      acd.answered(o.callId, o.agentId);
      connected.push(o.callId);
    }
  };
  // Fill: bounded by count, not by a condition that might never hold.
  for (let i = 0; i < AGENTS * 4 + WAITING * 2; i++) {
    enqueue();
    // Let escalation relax the oldest calls so that under-levelled agents find work too.
    if (i % 500 === 0) clock.advance(1000);
    if (i % 500 === 0) {
      let waiting = 0;
      let idle = 0;
      for (const name of names) {
        const st = acd.queueStats(name)!;
        waiting += st.waiting;
        idle += st.agentsAvailable;
      }
      // Agents below every queue's minimum level are idle but counted by no queue: ask the snapshot.
      if (waiting >= WAITING && idle === 0 && acd.snapshot().agents.every((ag) => ag.state !== 'available')) break;
    }
  }
  // Trim to exactly the asked-for backlog (the fill overshoots while the last agents find work).
  const extra = acd
    .snapshot()
    .calls.filter((c) => c.state === 'waiting')
    .sort((x, y) => y.arrivedAt - x.arrivedAt);
  for (const c of extra.slice(0, Math.max(0, extra.length - WAITING))) acd.cancel(c.callId);
  const filled = acd.snapshot();
  const waitingAtStart = filled.calls.filter((c) => c.state === 'waiting').length;
  const idleAtStart = filled.agents.filter((a) => a.state === 'available').length;

  const times: number[] = [];
  /** Decisions over 1 ms, to tell GC pauses from the scheduler (the machine is shared). */
  const slow: { t0: number; ms: number }[] = [];
  const from = performance.now();
  for (let i = 0; i < DECISIONS && connected.length > 0; i++) {
    const k = Math.floor(rand() * connected.length);
    const callId = connected[k]!;
    connected[k] = connected[connected.length - 1]!;
    connected.pop();
    seen.offer = undefined;
    const t0 = performance.now();
    acd.callEnded(callId);
    const ms = performance.now() - t0;
    times.push(ms);
    if (ms > 1) slow.push({ t0, ms });
    const o = lastOffer();
    if (o) {
      acd.answered(o.callId, o.agentId);
      connected.push(o.callId);
    }
    enqueue(); // keep the queue length steady
    clock.advance(10);
  }
  const window = { from, to: performance.now() };
  const heapMb = process.memoryUsage().heapUsed / 1048576;
  // Garbage per decision: the heap's growth across one callEnded(), where no GC ran in between
  // (a shrinking heap means one did); less what reading the figure itself allocates.
  const used = () => getHeapStatistics().used_heap_size;
  const probe: number[] = [];
  for (let i = 0; i < 200; i++) {
    const u0 = used();
    probe.push(used() - u0);
  }
  const reading = median(probe);
  const bytes: number[] = [];
  for (let i = 0; i < Math.min(2000, DECISIONS) && connected.length > 0; i++) {
    const k = Math.floor(rand() * connected.length);
    const callId = connected[k]!;
    connected[k] = connected[connected.length - 1]!;
    connected.pop();
    seen.offer = undefined;
    const u0 = used();
    acd.callEnded(callId);
    const grown = used() - u0;
    if (grown >= 0) bytes.push(grown - reading);
    const o = lastOffer();
    if (o) {
      acd.answered(o.callId, o.agentId);
      connected.push(o.callId);
    }
    enqueue();
    clock.advance(10);
  }
  const bytesPerDecision = median(bytes);
  const waitingAtEnd = acd.snapshot().calls.filter((c) => c.state === 'waiting').length;
  acd.dispose();
  times.sort((a, b) => a - b);
  return { times, slow, window, heapMb, bytesPerDecision, waitingAtStart, waitingAtEnd, idleAtStart, queues: names.length };
}

function callSide() {
  const { queues, agents, names, rand } = buildCentre(2);
  const clock = new FakeClock();
  const acd = new Acd({ clock, queues, agents, options: { maxMisses: 0 } });
  const offers: { callId: string; agentId: string }[] = [];
  acd.on('event', (e) => {
    if (e.type === 'offer') offers.push({ callId: e.callId, agentId: e.agentId });
  });
  for (const a of agents) acd.agentLogin(a.id);
  const times: number[] = [];
  const live: string[] = [];
  let n = 0;
  for (let i = 0; i < DECISIONS; i++) {
    offers.length = 0;
    const callId = `c${++n}`;
    const t0 = performance.now();
    acd.enqueue({ callId, queue: names[Math.floor(rand() * names.length)]!, priority: 0 });
    times.push(performance.now() - t0);
    for (const o of offers) {
      acd.answered(o.callId, o.agentId);
      live.push(o.callId);
    }
    if (acd.callView(callId)?.state === 'waiting') acd.cancel(callId);
    // Hold about half the team busy.
    while (live.length > AGENTS / 2) {
      const k = Math.floor(rand() * live.length);
      const id = live[k]!;
      live[k] = live[live.length - 1]!;
      live.pop();
      acd.callEnded(id);
    }
    clock.advance(10);
  }
  acd.dispose();
  times.sort((a, b) => a - b);
  return { times };
}

function simulationFigures() {
  // 20 agents, 17 Erlangs, AHT 180 s: a busy single-skill queue.
  const N = 20;
  const A = 17;
  const aht = 180;
  let met = 0;
  let answered = 0;
  let ewtSum = 0;
  let waitSum = 0;
  let absErr = 0;
  let within = 0;
  let told = 0;
  for (const seed of [11, 12, 13]) {
    const r = simulate({
      seed,
      queues: { q: QueueSchema.parse({ skills: [{ skill: 's' }], wrapUp: 0 }) },
      agents: Array.from({ length: N }, (_, i) => AgentSchema.parse({ id: `a${i}`, name: `a${i}`, password: 'secret', skills: { s: 5 } })),
      arrivals: [{ queue: 'q', perHour: (A / aht) * 3600 }],
      calls: 20_000,
      talkSeconds: aht,
    });
    for (const c of r.calls.values()) {
      if (c.connectedAt === undefined) continue;
      answered++;
      const wait = (c.connectedAt - c.arrivedAt) / 1000;
      if (wait <= 20) met++;
      // EWT is judged on callers who were told one (they had to wait: every agent busy).
      if (c.ewtSeconds !== null && c.positionAtEnqueue > 0 && wait > 0) {
        told++;
        ewtSum += c.ewtSeconds;
        waitSum += wait;
        absErr += Math.abs(c.ewtSeconds - wait);
        if (Math.abs(c.ewtSeconds - wait) <= 0.2 * wait) within++;
      }
    }
  }
  return {
    sl_sim: round(met / answered),
    sl_erlang: round(serviceLevel(N, A, aht, 20)),
    ewt_callers: told,
    /** mean EWT / mean actual wait - 1 */
    ewt_bias: round(ewtSum / waitSum - 1),
    /** sum |EWT - wait| / sum wait */
    ewt_wape: round(absErr / waitSum),
    ewt_within_20pct: round(within / told),
  };
}

const a = agentSide();
await flushGc();
const gc = gcIn(a.window.from, a.window.to);
const slowInGc = a.slow.filter((d) => gcs.some((g) => g.start < d.t0 + d.ms && g.start + g.ms > d.t0)).length;
const c = callSide();
const sim = simulationFigures();
gcObserver.disconnect();
console.log(
  JSON.stringify({
    bench: 'acd',
    p50_ms: round(pct(a.times, 50)),
    p99_ms: round(pct(a.times, 99)),
    p999_ms: round(pct(a.times, 99.9)),
    max_ms: round(a.times.at(-1) ?? 0),
    waiting: a.waitingAtStart,
    waiting_end: a.waitingAtEnd,
    idle_agents_at_start: a.idleAtStart,
    agents: AGENTS,
    skills: SKILLS,
    queues: a.queues,
    decisions: a.times.length,
    // GC pauses during the timed agent-side loop (decisions plus the bench's own answer/enqueue between them).
    gc_minor: gc.minor,
    gc_major: gc.major,
    gc_other: gc.other,
    gc_total_ms: gc.total_ms,
    gc_max_ms: gc.max_ms,
    // Decisions over 1 ms: how many overlapped a GC pause; the rest lost the CPU to other processes.
    over_1ms: a.slow.length,
    over_1ms_in_gc: slowInGc,
    heap_mb: round(a.heapMb, 1),
    // Bytes allocated by one agent-side decision (median; events and their delivery included).
    alloc_bytes_per_decision: a.bytesPerDecision,
    enqueue_p50_ms: round(pct(c.times, 50)),
    enqueue_p99_ms: round(pct(c.times, 99)),
    ...sim,
  }),
);
