/**
 * A seeded synthetic day of traffic for benchmarks and volume tests: `calls` customer calls over
 * 08:00-20:00 UTC, 3 queues, `agents` agents on shifts, with RONA, abandons, holds, transfers,
 * wrap-up and surveys in realistic proportions. Same seed, same log.
 */
import { agentStreamId, type CcEvent } from '../../../server/kpi/events.ts';

export function syntheticDay(opts: { calls: number; agents: number; seed?: number; day?: number }): CcEvent[] {
  let s = opts.seed ?? 42;
  const rnd = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const day0 = opts.day ?? Date.UTC(2026, 0, 5);
  const open = day0 + 8 * 3_600_000;
  const span = 12 * 3_600_000;
  const queues = ['sales', 'support', 'billing'];
  const ev: CcEvent[] = [];
  for (let a = 0; a < opts.agents; a++) {
    const id = `agent${a}`;
    const sid = agentStreamId(id);
    const start = open + Math.floor(rnd() * 2 * 3_600_000);
    ev.push({ type: 'agent.state', contactId: sid, seq: 1, ts: start, agentId: id, state: 'ready' });
    ev.push({ type: 'agent.state', contactId: sid, seq: 2, ts: start + 4 * 3_600_000, agentId: id, state: 'not-ready', reason: 'break' });
    ev.push({ type: 'agent.state', contactId: sid, seq: 3, ts: start + 4.5 * 3_600_000, agentId: id, state: 'ready' });
    ev.push({ type: 'agent.state', contactId: sid, seq: 4, ts: start + 9 * 3_600_000, agentId: id, state: 'logged-out' });
  }
  for (let i = 0; i < opts.calls; i++) {
    const id = `syn-${i}`;
    let seq = 0;
    let t = open + Math.floor(rnd() * span);
    const push = (e: Record<string, unknown>) => ev.push({ contactId: id, seq: ++seq, ts: t, ...e } as CcEvent);
    const caller = `+1555${String(Math.floor(rnd() * opts.calls * 0.8)).padStart(7, '0')}`;
    push({ type: 'contact.arrived', initiation: 'inbound', caller, dialled: '8000', trunk: 'carrier' });
    push({ type: 'ivr.step', node: 'welcome' });
    t += 8_000;
    if (rnd() < 0.1) {
      push({ type: 'ivr.end', completedInIvr: true });
      push({ type: 'call.end', endedBy: 'caller' });
      continue;
    }
    const queue = queues[Math.floor(rnd() * queues.length)]!;
    push({ type: 'ivr.end', completedInIvr: false, queue });
    push({ type: 'queue.enter', queue });
    const agent = `agent${Math.floor(rnd() * opts.agents)}`;
    if (rnd() < 0.1) {
      push({ type: 'queue.offer', queue, agentId: agent });
      t += 15_000;
      push({ type: 'queue.rona', queue, agentId: agent });
    }
    t += Math.floor(rnd() * 60_000);
    if (rnd() < 0.12) {
      push({ type: 'queue.abandon', queue });
      push({ type: 'call.end', endedBy: 'caller' });
      continue;
    }
    push({ type: 'queue.offer', queue, agentId: agent });
    t += 3_000;
    push({ type: 'queue.connect', queue, agentId: agent });
    t += 30_000 + Math.floor(rnd() * 300_000);
    if (rnd() < 0.2) {
      push({ type: 'hold.start', agentId: agent });
      t += Math.floor(rnd() * 60_000);
      push({ type: 'hold.end', agentId: agent });
      t += 10_000;
    }
    push({ type: 'call.end', endedBy: rnd() < 0.5 ? 'caller' : 'agent' });
    push({ type: 'wrapup.start', agentId: agent, queue });
    if (rnd() < 0.3) push({ type: 'survey.answer', question: 'csat', value: 1 + Math.floor(rnd() * 5), scale: 5 });
    t += 5_000 + Math.floor(rnd() * 60_000);
    push({ type: 'wrapup.end', agentId: agent, extended: rnd() < 0.05, disposition: 'done' });
  }
  return ev;
}
