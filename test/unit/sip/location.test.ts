import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import { MemoryLocationStore, type Binding } from '../../../server/sip/location.ts';
import type { Source } from '../../../server/sip/message.ts';

const ws: Source = { transport: 'ws', address: '127.0.0.1', port: 50000, flowId: 'ws#1', localAddress: '127.0.0.1', localPort: 8080 };
const udp: Source = { transport: 'udp', address: '127.0.0.1', port: 5062, flowId: 'udp#1', localAddress: '127.0.0.1', localPort: 5060 };

function binding(clock: FakeClock, over: Partial<Binding>): Binding {
  return {
    aor: 'sip:agent1@cc',
    contact: 'sip:a@x.invalid;transport=ws',
    expiresAt: clock.now() + 60_000,
    callId: 'c',
    cseq: 1,
    source: ws,
    registeredAt: clock.now(),
    ...over,
  };
}

describe('MemoryLocationStore', () => {
  it('expires bindings, orders by q, finds by user, replaces by contact or instance id', async () => {
    const clock = new FakeClock(0);
    const s = new MemoryLocationStore(clock);
    await s.save(binding(clock, { contact: 'sip:a@1', q: 0.5 }));
    await s.save(binding(clock, { contact: 'sip:a@2', q: 1, expiresAt: 10_000, source: udp }));
    await s.save(binding(clock, { contact: 'sip:a@3', instanceId: '<urn:uuid:1>', regId: 1 }));
    await s.save(binding(clock, { contact: 'sip:a@4', instanceId: '<urn:uuid:1>', regId: 1 })); // same instance: replaces
    await s.save(binding(clock, { aor: 'sip:agent2@cc', contact: 'sip:b@1' }));
    expect((await s.lookup('sip:agent1@cc')).map((b) => b.contact)).toEqual(['sip:a@2', 'sip:a@4', 'sip:a@1']);
    expect(await s.lookupUser('agent2')).toHaveLength(1);
    expect(await s.lookupUser('agent')).toHaveLength(0);
    clock.advance(10_000);
    expect((await s.lookup('sip:agent1@cc')).map((b) => b.contact)).toEqual(['sip:a@4', 'sip:a@1']);
    expect(await s.count()).toBe(3);
  });

  it('removeFlow drops only connection-bound bindings; purgeExpired returns what it dropped', async () => {
    const clock = new FakeClock(0);
    const s = new MemoryLocationStore(clock);
    await s.save(binding(clock, { contact: 'sip:a@ws' }));
    await s.save(binding(clock, { contact: 'sip:a@udp', source: udp }));
    expect((await s.removeFlow('ws#1')).map((b) => b.contact)).toEqual(['sip:a@ws']);
    expect((await s.removeFlow('udp#1')).length).toBe(0);
    clock.advance(60_000);
    expect((await s.purgeExpired()).map((b) => b.contact)).toEqual(['sip:a@udp']);
    expect(await s.count()).toBe(0);
  });
});
