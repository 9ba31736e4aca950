/**
 * A browser agent's desktop losing its WebSocket: Ready agents are set Not ready ('disconnected')
 * at once, made Ready again if the desktop registers within the grace, logged out after it.
 * Desk phones and agents already Not ready keep today's rules. Fake clock; the real ACD.
 */
import { describe, expect, it } from 'vitest';
import { CentreAgentDesk, SYSTEM_AUX_DISCONNECTED } from '../../../server/call/agentDesk.ts';
import type { Binding } from '../../../server/sip/index.ts';
import { agent, harness } from '../acd/helpers.ts';

function setup() {
  const h = harness({
    queues: { sales: { skills: [{ skill: 'sales' }] } },
    agents: [agent('1001', { sales: 5 }), agent('1002', { sales: 5 })],
    auxCodes: [
      { code: 'break', label: 'Break' },
      { code: SYSTEM_AUX_DISCONNECTED, label: 'Disconnected' },
    ],
    login: false,
  });
  const registered = new Map<string, number>();
  const desk = new CentreAgentDesk(
    h.acd,
    [agent('1001', { sales: 5 }), agent('1002', { sales: 5 })],
    [],
    'cc.test',
    (u) => Promise.resolve(registered.get(u) ?? 0),
    { clock: h.clock, graceMs: 30_000 },
  );
  const binding = (user: string, transport: 'ws' | 'udp'): Binding =>
    ({
      aor: `sip:${user}@cc.test`,
      contact: `sip:${user}@x.invalid`,
      expiresAt: 0,
      callId: 'c',
      cseq: 1,
      source: { transport, flowId: `${transport}#1` },
    }) as unknown as Binding;
  const state = (u: string) => h.acd.agentView(u);
  const drop = async (u: string, t: 'ws' | 'udp' = 'ws') => {
    registered.set(u, 0);
    await desk.unregistered(binding(u, t));
  };
  const back = (u: string) => {
    registered.set(u, 1);
    desk.registered(binding(u, 'ws'));
  };
  return { h, desk, state, drop, back };
}

describe('a browser desktop that reconnects', () => {
  it('Ready → Not ready (disconnected) → Ready again within the grace', async () => {
    const { h, desk, state, drop, back } = setup();
    desk.login('1001');
    desk.ready('1001');
    await drop('1001');
    expect(state('1001')).toMatchObject({ state: 'not-ready', reason: SYSTEM_AUX_DISCONNECTED });
    h.sec(29);
    back('1001');
    expect(state('1001')?.state).toBe('available');
    h.sec(60); // the grace timer was cancelled: nothing happens at 30 s
    expect(state('1001')?.state).toBe('available');
  });

  it('is logged out when the grace ends without a registration; a Not ready agent keeps the reason meanwhile', async () => {
    const { h, desk, state, drop } = setup();
    desk.login('1001');
    desk.ready('1001');
    desk.login('1002');
    h.acd.agentNotReady('1002', 'break');
    await drop('1001');
    await drop('1002');
    expect(state('1002')).toMatchObject({ state: 'not-ready', reason: 'break' });
    h.sec(29.9);
    expect(state('1001')?.state).toBe('not-ready');
    h.sec(0.2);
    await Promise.resolve();
    await Promise.resolve();
    expect(state('1001')?.state).toBe('logged-out');
    expect(state('1002')?.state).toBe('logged-out');
  });

  it('a desk phone that unregisters is logged out at once, as before', async () => {
    const { desk, state, drop } = setup();
    desk.registered({ aor: 'sip:1002@cc.test', source: { transport: 'udp' } } as unknown as Binding);
    expect(state('1002')?.state).toBe('available');
    await drop('1002', 'udp');
    expect(state('1002')?.state).toBe('logged-out');
  });

  it("a desk phone's registration refresh does not undo a supervisor's logout; a new registration logs the agent in", () => {
    const { h, desk, state } = setup();
    const phone = { aor: 'sip:1002@cc.test', source: { transport: 'udp' } } as unknown as Binding;
    desk.registered(phone, false);
    expect(state('1002')?.state).toBe('available');
    h.acd.agentLogout('1002', 'supervisor');
    desk.registered(phone, true);
    expect(state('1002')?.state).toBe('logged-out');
    desk.registered(phone, false); // the phone restarted: a new registration
    expect(state('1002')?.state).toBe('available');
  });

  it("a supervisor's desk phone does not log the supervisor in as an agent", () => {
    const h = harness({ queues: { sales: { skills: [{ skill: 'sales' }] } }, agents: [agent('9001', {})], login: false });
    const sup = { ...agent('9001', {}), role: 'supervisor' as const };
    const desk = new CentreAgentDesk(h.acd, [sup], [], 'cc.test', () => Promise.resolve(1));
    desk.registered({ aor: 'sip:9001@cc.test', source: { transport: 'udp' } } as unknown as Binding, false);
    expect(h.acd.agentView('9001')?.state).toBe('logged-out');
  });
});
