/**
 * Transfer and consult targets as the directory lists them, from the pushed directory and what the
 * agent typed: queues, colleagues with their state, an external number. Pure (no DOM), so unit-tested.
 */
import type { DirectoryData } from './store.ts';

export type Target = { kind: 'queue' | 'agent' | 'external'; id: string; label: string; state?: string };

const STATE_LABEL: Record<string, string> = {
  available: 'Ready',
  'not-ready': 'Not ready',
  offered: 'Ringing',
  'on-call': 'On call',
  'wrap-up': 'Wrap-up',
  'logged-out': 'Logged out',
};

/** A dialable number: digits with an optional leading +, spaces, dashes, dots or brackets. */
export function asNumber(text: string): string | undefined {
  const t = text.trim();
  if (!/^\+?[\d\s().-]{2,32}$/.test(t)) return undefined;
  const n = t.replace(/[\s().-]/g, '');
  return n.replace(/\D/g, '').length >= 2 ? n : undefined;
}

/** What the list shows for a search text (pure). */
export function entriesFor(d: DirectoryData, search: string, self: string): Target[] {
  const q = search.trim().toLowerCase();
  const out: Target[] = [];
  const num = asNumber(search);
  const hit = (s: string): boolean => s.toLowerCase().includes(q);
  for (const x of d.queues)
    if (!q || hit(x.name))
      out.push({
        kind: 'queue',
        id: x.name,
        label: `${x.name} · ${x.open ? `${x.waiting} waiting · ${x.available} free` : 'closed'}`,
        state: x.open ? (x.available > 0 ? 'available' : 'busy') : 'closed',
      });
  for (const a of d.agents)
    if (a.id !== self && (!q || hit(a.name) || a.id.startsWith(q)))
      out.push({ kind: 'agent', id: a.id, label: `${a.name} (${a.id}) · ${STATE_LABEL[a.state] ?? a.state}`, state: a.state });
  // A number that is also an agent id (e.g. 1003) lists the agent first, then "dial 1003".
  if (num) out.push({ kind: 'external', id: num, label: `Dial ${num}` });
  return out;
}
