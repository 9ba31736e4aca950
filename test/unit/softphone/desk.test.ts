/**
 * The agent desktop's pure parts: what an INVITE's X-CC-* headers make of a call (a queue's caller,
 * a click-to-dial, a callback, a consult), and what the transfer directory lists for a search.
 */
import { describe, expect, it } from 'vitest';
import { callFromHeaders } from '../../../softphone/src/callInfo.ts';
import { asNumber, entriesFor } from '../../../softphone/src/targets.ts';

const headers = (h: Record<string, string>) => (n: string) => h[n] ?? '';

describe('callFromHeaders', () => {
  it("a queue's caller: number, queue, wait, IVR path, ring countdown", () => {
    const c = callFromHeaders(
      headers({
        'X-CC-Call-Id': 'c1',
        'X-CC-Caller': encodeURIComponent('+44 20 7946'),
        'X-CC-Queue': 'sales',
        'X-CC-Waited': '12',
        'X-CC-Ivr-Path': encodeURIComponent('hours,menu,sales'),
        'X-CC-Ring-Timeout': '15',
      }),
      'x',
      'sip-call-id',
      1_000_000,
    );
    expect(c).toMatchObject({
      kind: 'inbound',
      caller: '+44 20 7946',
      queue: 'sales',
      waitedSeconds: 12,
      ivrPath: ['hours', 'menu', 'sales'],
      callId: 'c1',
      ringsUntil: 1_015_000,
      held: false,
      consult: '',
    });
  });

  it('a callback offer is a callback (number, attempt, the contact that asked for it)', () => {
    const c = callFromHeaders(
      headers({
        'X-CC-Call-Id': 'n1',
        'X-CC-Direction': 'callback',
        'X-CC-Number': encodeURIComponent('+442079460000'),
        'X-CC-Queue': 'support',
        'X-CC-Previous-Call-Id': 'old-1',
        'X-CC-Attempt': '2',
      }),
      '',
      'sip',
      0,
    );
    expect(c).toMatchObject({
      kind: 'callback',
      caller: '+442079460000',
      queue: 'support',
      previousCallId: 'old-1',
      attempt: 2,
      ringsUntil: 0,
    });
  });

  it('click-to-dial is outbound; a consult is a consult; no headers fall back to the SIP identity', () => {
    expect(callFromHeaders(headers({ 'X-CC-Direction': 'outbound', 'X-CC-Number': '%2B4420' }), '', 's', 0)).toMatchObject({
      kind: 'outbound',
      caller: '+4420',
    });
    expect(callFromHeaders(headers({ 'X-CC-Consult': '1001', 'X-CC-Caller': '555' }), '', 's', 0)).toMatchObject({
      kind: 'consult',
      consultFrom: '1001',
      caller: '555',
    });
    expect(callFromHeaders(headers({ 'X-CC-Ivr-Path': '%E0%A4%A' }), '1009', 'sip-id', 0)).toMatchObject({
      kind: 'inbound',
      caller: '1009',
      callId: 'sip-id',
      ivrPath: ['%E0%A4%A'],
    });
  });
});

describe('directory entries', () => {
  const dir = {
    queues: [
      { name: 'sales', open: true, waiting: 2, available: 1, staffed: 3 },
      { name: 'support', open: false, waiting: 0, available: 0, staffed: 0 },
    ],
    agents: [
      { id: '1001', name: 'Alice Sales', role: 'agent', state: 'on-call' },
      { id: '1003', name: 'Carol Support', role: 'agent', state: 'available' },
    ],
  };

  it('lists queues with waiting and free counts, colleagues with their state, never oneself', () => {
    expect(entriesFor(dir, '', '1001').map((e) => `${e.kind}:${e.id}:${e.label}:${e.state}`)).toEqual([
      'queue:sales:sales · 2 waiting · 1 free:available',
      'queue:support:support · closed:closed',
      'agent:1003:Carol Support (1003) · Ready:available',
    ]);
  });

  it('filters by name or id; a number adds "dial" after the matching agent', () => {
    expect(entriesFor(dir, 'SUPP', '1001').map((e) => e.id)).toEqual(['support', '1003']);
    expect(entriesFor(dir, '1003', '1001').map((e) => `${e.kind}:${e.id}`)).toEqual(['agent:1003', 'external:1003']);
    expect(entriesFor(dir, '+44 (20) 7946-0999', '1001').map((e) => `${e.kind}:${e.id}`)).toEqual(['external:+442079460999']);
  });

  it('asNumber takes dialable text only', () => {
    expect(asNumber(' 020 7946 0999 ')).toBe('02079460999');
    expect(asNumber('+1.555.0100')).toBe('+15550100');
    expect(asNumber('carol')).toBeUndefined();
    expect(asNumber('1')).toBeUndefined();
    expect(asNumber('12a')).toBeUndefined();
  });
});
