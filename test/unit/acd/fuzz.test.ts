/**
 * Random command sequences, valid and invalid, in any order: the engine must never throw, never
 * report an internal error, and keep its invariants after every command and timer.
 *
 * The engine turns a throw into a result ({ ok: false, error: 'internal error: …' }) and a throw
 * inside a timer or an event listener into an error log line, so "does not throw" proves nothing:
 * the test checks every result, and catches the error log through a logger of its own.
 */
import { describe, expect, it, vi } from 'vitest';
import type { AcdResult, EnqueueResult } from '../../../server/acd/acd.ts';
import { mulberry32 } from '../../../server/acd/simulation.ts';
import { agent, harness } from './helpers.ts';

const logged = vi.hoisted(() => ({ errors: [] as string[] }));
// The real logger is silent under vitest; this one keeps every error line (engine and emitter).
vi.mock('../../../lib/log.ts', async () => {
  const { pino } = await import('pino');
  return { log: pino({ level: 'error', base: undefined }, { write: (line: string) => void logged.errors.push(line) }) };
});

describe('fuzz', () => {
  for (const seed of [1, 2, 3]) {
    it(`random commands keep the engine sound (seed ${seed})`, () => {
      const rand = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const agentIds = Array.from({ length: 12 }, (_, i) => `a${i}`);
      const h = harness({
        queues: {
          sales: {
            skills: [{ skill: 'sales', minLevel: 4 }],
            wrapUp: 5,
            maxLength: 15,
            escalation: [
              { after: 20, relaxMinLevel: 1 },
              { after: 40, overflowTo: 'general' },
            ],
            abandonResume: 60,
            offerTimeout: 5,
          },
          ring: { skills: [{ skill: 'vip' }], strategy: 'ring-all', wrapUp: 0, maxWait: 30, offerTimeout: 4 },
          general: {
            skills: [{ skill: 'general' }],
            strategy: 'round-robin',
            leaveWhenEmpty: 'logged-in',
            announce: { period: 7 },
            callback: { maxAttempts: 2, retryDelay: 10 },
          },
          rare: {
            skills: [
              { skill: 'sales', minLevel: 9 },
              { skill: 'general', minLevel: 9 },
            ],
            strategy: 'highest-skill',
            joinWhenEmpty: 'staffed',
          },
        },
        agents: agentIds.map((id, i) =>
          agent(id, {
            ...(i % 2 === 0 ? { sales: 1 + ((i * 3) % 10) } : {}),
            ...(i % 3 === 0 ? { vip: 5 } : {}),
            ...(i % 4 !== 1 ? { general: 1 + ((i * 7) % 10) } : {}),
          }),
        ),
        options: { maxMisses: 2, rejectDelay: 3 },
        login: false,
      });
      const callIds: string[] = [];
      let n = 0;
      const results: (AcdResult | EnqueueResult)[] = [];
      const ops: (() => AcdResult | EnqueueResult)[] = [
        () => {
          const id = rand() < 0.1 && callIds.length ? pick(callIds) : `c${++n}`;
          callIds.push(id);
          return h.acd.enqueue({
            callId: id,
            queue: pick(['sales', 'ring', 'general', 'rare', 'nope']),
            priority: pick([0, 0, 1, 5, 101]),
            callerId: pick(['+1555000', '+1555001', 'anonymous', undefined]),
            ...(rand() < 0.1 ? { callback: { number: '+1999' } } : {}),
            ...(rand() < 0.05 ? { skills: [{ skill: 'general', minLevel: 3 }] } : {}),
          });
        },
        () => h.acd.agentLogin(pick(agentIds), { ready: rand() < 0.8 }),
        () => h.acd.agentLogout(pick(agentIds)),
        () => h.acd.agentReady(pick(agentIds)),
        () => h.acd.agentNotReady(pick(agentIds), pick(['break', 'lunch', 'bogus'])),
        () => h.acd.answered(pick(callIds.length ? callIds : ['x']), pick(agentIds)),
        () => {
          // Answer a call that really is ringing, so conversations happen.
          const ringing = h.acd.snapshot().calls.filter((c) => c.state === 'offered');
          const c = ringing.length ? pick(ringing) : undefined;
          return c ? h.acd.answered(c.callId, pick(c.agents)) : { ok: true };
        },
        () => {
          const ringing = h.acd.snapshot().calls.filter((c) => c.state === 'offered');
          const c = ringing.length ? pick(ringing) : undefined;
          return c ? h.acd.rejected(c.callId, pick(c.agents)) : { ok: true };
        },
        () => {
          const ringing = h.acd.snapshot().calls.filter((c) => c.state === 'offered' && c.callback);
          const c = ringing.length ? pick(ringing) : undefined;
          return c ? h.acd.callbackFailed(c.callId, pick(c.agents)) : { ok: true };
        },
        () => h.acd.callEnded(pick(callIds.length ? callIds : ['x'])),
        () => h.acd.abandon(pick(callIds.length ? callIds : ['x'])),
        () => h.acd.cancel(pick(callIds.length ? callIds : ['x'])),
        () => h.acd.requestCallback({ callId: pick(callIds.length ? callIds : ['x']), number: '+1777' }),
        () => h.acd.endWrapUp(pick(agentIds)),
        () => h.acd.extendWrapUp(pick(agentIds), pick([5, 500, -1])),
        () => h.acd.setAgentSkills(pick(agentIds), pick<Record<string, number>>([{ general: 9, sales: 9 }, { vip: 2 }, { sales: 0 }])),
        () => h.acd.setQueueOpen(pick(['sales', 'general']), rand() < 0.7),
        () => {
          h.clock.advance(Math.floor(rand() * 8000));
          return { ok: true };
        },
      ];
      const weights = [6, 3, 1, 2, 1, 1, 5, 1, 1, 4, 1, 1, 1, 1, 1, 1, 1, 6];
      const table = ops.flatMap((op, i) => Array.from({ length: weights[i]! }, () => op));
      logged.errors.length = 0;
      for (let step = 0; step < 3000; step++) {
        // A throw here fails the test by itself; the engine's own failures come back as results.
        const r = pick(table)();
        results.push(r);
        if (!r.ok && r.error.startsWith('internal error')) throw new Error(`step ${step}: ${r.error}`);
        // Timers fired by a clock step, and listeners, report failures only in the log.
        if (logged.errors.length) throw new Error(`step ${step}: ${logged.errors.join('')}`);
        const v = h.acd.audit();
        if (v.length) throw new Error(`step ${step}: ${v.join('; ')}`);
      }
      // Drain: everyone leaves, time passes; nothing may be left half-done.
      for (const id of callIds) {
        for (const r of [h.acd.cancel(id), h.acd.callEnded(id)]) if (!r.ok) expect(r.error).not.toMatch(/^internal error/);
      }
      h.clock.advance(3_600_000);
      expect(logged.errors).toEqual([]);
      expect(h.acd.audit()).toEqual([]);
      expect(h.acd.snapshot().calls).toEqual([]);
      const kinds = new Set(h.events.map((e) => e.type));
      for (const k of ['offer', 'connect', 'rona', 'reject', 'abandon', 'exit', 'escalate', 'wrapupEnd', 'callbackDial', 'position']) {
        expect(kinds.has(k as never), k).toBe(true);
      }
      expect(results.some((r) => r.ok)).toBe(true);
      expect(results.some((r) => !r.ok)).toBe(true);
    });
  }
});
