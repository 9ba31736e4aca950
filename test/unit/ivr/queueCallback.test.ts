/**
 * Issue #12: a caller waiting in a queue presses the queue's callbackKey: the IVR books a callback
 * in that queue (whileQueued: call control keeps the caller's place), confirms, and ends or goes on.
 */
import { describe, expect, it } from 'vitest';
import { flowSet, harness } from './helpers.ts';

const FLOW = `
start: sales
nodes:
  sales:
    type: queue
    queue: sales
    callbackKey: "1"
    callbackConfirmPrompt: cbok
    timeout: offer
  offer: { type: callback, prompt: cb, queue: operator, confirmPrompt: cbok, declined: bye }
  bye: { type: hangup, prompt: bye, reason: done }
`;

describe('callbackKey while queued', () => {
  it('the key books a callback in the same queue, keeping the place; other keys do nothing', () => {
    const h = harness(flowSet({ m: FLOW }), 'm');
    h.s.start();
    expect(h.actions[0]).toMatchObject({ type: 'queue', queue: 'sales', callbackKey: '1' });
    h.s.digit('5');
    expect(h.s.state).toBe('queued');
    h.s.digit('1');
    expect(h.actions.find((a) => a.type === 'callback')).toEqual({
      type: 'callback',
      queue: 'sales',
      number: '+15551234',
      whileQueued: true,
    });
    expect(h.log.slice(-2)).toEqual(['callback:+15551234', 'play:cbok']);
    // The queue no longer holds the caller: a late exit or connect is ignored.
    h.s.queueExit('timeout');
    h.s.connected('a1');
    h.finishPrompts();
    expect(h.log.at(-1)).toBe('hangup:callback-accepted');
    expect(h.s.outcome).toBe('callback');
    expect(h.s.summary()).toBe('sales[1]=callback');
  });

  it('without callbackKey a waiting caller’s keys are ignored; after a queue exit the callback node names its own queue', () => {
    const h = harness(flowSet({ m: FLOW.replace('callbackKey: "1"', 'priority: 1') }), 'm');
    h.s.start();
    h.s.digit('1');
    expect(h.actions.some((a) => a.type === 'callback')).toBe(false);
    h.s.queueExit('timeout');
    h.s.promptFinished();
    h.s.digit('1');
    expect(h.actions.find((a) => a.type === 'callback')).toEqual({ type: 'callback', queue: 'operator', number: '+15551234' });
  });

  it('a number the centre cannot dial back is never promised a callback: no key announced or taken, the callback node declines unasked', () => {
    const asked: string[] = [];
    const h = harness(flowSet({ m: FLOW }), 'm', { canCallBack: (n) => (asked.push(n), false) });
    h.s.start();
    const queued = h.actions[0];
    expect(queued).toMatchObject({ type: 'queue', queue: 'sales' });
    expect(queued && 'callbackKey' in queued).toBe(false);
    h.s.digit('1');
    expect(h.s.state).toBe('queued');
    expect(h.actions.some((a) => a.type === 'callback')).toBe(false);
    // After the queue's timeout the callback node is not offered (its prompt not played): straight to declined.
    h.s.queueExit('timeout');
    h.finishPrompts();
    expect(h.log).not.toContain('play:cb');
    expect(h.log.at(-1)).toBe('hangup:done');
    expect(h.s.summary()).toContain('offer=no-callback-number');
    expect(new Set(asked)).toEqual(new Set(['+15551234']));
  });
});
