import { describe, expect, it } from 'vitest';
import { CallControlError } from '../../../server/call/controlError.ts';
import { dispositionsOf, endWrapUpWith, type WrapupDeps } from '../../../server/call/wrapup.ts';
import type { WrapupOutcome } from '../../../server/call/cdr.ts';

function deps(state: string): { d: WrapupDeps; written: Map<string, WrapupOutcome>; ended: string[] } {
  const written = new Map<string, WrapupOutcome>();
  const ended: string[] = [];
  const d: WrapupDeps = {
    acd: {
      agentView: (id) =>
        ({
          id,
          state,
          since: 0,
          misses: 0,
          occupiedMs: 0,
          pendingLogout: false,
          ...(state === 'wrap-up' ? { callId: 'c1', queue: 'sales' } : {}),
        }) as never,
      endWrapUp: (id) => {
        ended.push(id);
        return { ok: true };
      },
    },
    cdr: { setWrapupOutcome: (c, o) => void written.set(c, o) },
    dispositions: (q) => (q === 'sales' ? [{ code: 'sale', label: 'Sale' }] : []),
  };
  return { d, written, ended };
}

const refused = (f: () => unknown): CallControlError => {
  try {
    f();
  } catch (e) {
    if (e instanceof CallControlError) return e;
    throw e;
  }
  throw new Error('not refused');
};

describe('wrap-up with a disposition', () => {
  it('writes the outcome for the contact and ends the wrap-up', () => {
    const { d, written, ended } = deps('wrap-up');
    expect(endWrapUpWith(d, '1001', { disposition: 'sale', note: 'n', resolved: true })).toEqual({ contactId: 'c1', queue: 'sales' });
    expect(written.get('c1')).toEqual({ disposition: 'sale', note: 'n', resolved: true });
    expect(ended).toEqual(['1001']);
  });

  it("refuses a code not in the queue's list, a missing one, and an agent not in wrap-up; nothing changes", () => {
    for (const [state, outcome, status] of [
      ['wrap-up', { disposition: 'nope' }, 422],
      ['wrap-up', { note: 'x' }, 422],
      ['on-call', { disposition: 'sale' }, 409],
    ] as const) {
      const { d, written, ended } = deps(state);
      expect(refused(() => endWrapUpWith(d, '1001', outcome)).status).toBe(status);
      expect(written.size).toBe(0);
      expect(ended).toEqual([]);
    }
  });

  it('reads the codes of a loaded queue', () => {
    expect(dispositionsOf({ dispositions: [{ code: 'a', label: 'A' }] })).toEqual([{ code: 'a', label: 'A' }]);
    expect(dispositionsOf({})).toEqual([]);
    expect(dispositionsOf(undefined)).toEqual([]);
  });
});
