import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { AgentSessions, DEFAULT_SESSION_TTL_MS } from '../../../server/secrets/sessions.ts';

describe('agent sessions', () => {
  it('a token and its SIP password live for the TTL (12 h by default), then are gone', () => {
    const clock = new FakeClock();
    const sessions = new AgentSessions(clock);
    expect(sessions.ttlMs).toBe(DEFAULT_SESSION_TTL_MS);
    expect(DEFAULT_SESSION_TTL_MS).toBe(12 * 3600_000);
    const s = sessions.open('1001');
    expect(s.expiresAt).toBe(clock.now() + DEFAULT_SESSION_TTL_MS);
    expect(s.token).not.toBe(s.sipPassword);
    expect(s.token.length).toBeGreaterThanOrEqual(32);
    clock.advance(DEFAULT_SESSION_TTL_MS - 1);
    expect(sessions.get(s.token)?.agentId).toBe('1001');
    expect(sessions.sipPasswords('1001')).toEqual([s.sipPassword]);
    clock.advance(1);
    expect(sessions.get(s.token)).toBeUndefined();
    expect(sessions.sipPasswords('1001')).toEqual([]);
  });

  it('is not sliding: using a token does not extend it', () => {
    const clock = new FakeClock();
    const sessions = new AgentSessions(clock, { ttlMs: 60_000 });
    const s = sessions.open('1001');
    for (let i = 0; i < 5; i++) {
      clock.advance(10_000);
      expect(sessions.get(s.token)).toBeDefined();
    }
    clock.advance(10_000);
    expect(sessions.get(s.token)).toBeUndefined();
  });

  it("logout ends every session of the agent, and only that agent's", () => {
    const sessions = new AgentSessions(new FakeClock());
    const a1 = sessions.open('1001');
    const a2 = sessions.open('1001');
    const b = sessions.open('1002');
    expect(sessions.sipPasswords('1001').sort()).toEqual([a1.sipPassword, a2.sipPassword].sort());
    sessions.closeAgent('1001');
    expect(sessions.get(a1.token)).toBeUndefined();
    expect(sessions.get(a2.token)).toBeUndefined();
    expect(sessions.sipPasswords('1001')).toEqual([]);
    expect(sessions.get(b.token)?.agentId).toBe('1002');
    sessions.close(b.token);
    expect(sessions.size).toBe(0);
  });

  it('unknown and empty tokens are no session; expired ones are pruned at the next login', () => {
    const clock = new FakeClock();
    const sessions = new AgentSessions(clock, { ttlMs: 1000 });
    expect(sessions.get(undefined)).toBeUndefined();
    expect(sessions.get('')).toBeUndefined();
    expect(sessions.get('nope')).toBeUndefined();
    sessions.open('1001');
    sessions.open('1002');
    clock.advance(1000);
    sessions.open('1003');
    expect(sessions.size).toBe(1);
  });
});
