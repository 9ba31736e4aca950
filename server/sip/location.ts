/**
 * The location service (RFC 3261 §10.3): address-of-record -> contact bindings, each remembering
 * the flow (RFC 5626 §5) it was registered over so requests to a WebSocket or TCP client go down
 * that connection. Kept behind an interface so several servers can later share Postgres.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Source } from './message.ts';

export interface Binding {
  /** `sip:user@domain`, see aorOf(). */
  aor: string;
  /** Contact URI as registered. */
  contact: string;
  expiresAt: number;
  callId: string;
  cseq: number;
  q?: number;
  /** RFC 5626 +sip.instance and reg-id, when the client sent them. */
  instanceId?: string;
  regId?: number;
  /** Where the REGISTER came from: transport, address, port and flow id. */
  source: Source;
  userAgent?: string;
  registeredAt: number;
}

export interface LocationStore {
  /** Unexpired bindings of an AOR, highest q first. */
  lookup(aor: string): Promise<Binding[]>;
  /** Unexpired bindings whose AOR user part is `user` (any domain). */
  lookupUser(user: string): Promise<Binding[]>;
  /** Insert or replace the binding with the same AOR and key (instance+reg-id, else contact). */
  save(binding: Binding): Promise<void>;
  remove(aor: string, contact: string): Promise<void>;
  removeAll(aor: string): Promise<void>;
  /** Drop bindings that can only be reached through this (now closed) flow; returns them. */
  removeFlow(flowId: string): Promise<Binding[]>;
  /** Drop expired bindings; returns them (the stack reports them as 'unregistered'). */
  purgeExpired(): Promise<Binding[]>;
  count(): Promise<number>;
}

function bindingKey(b: Pick<Binding, 'contact' | 'instanceId' | 'regId'>): string {
  return b.instanceId !== undefined ? `${b.instanceId}|${b.regId ?? ''}` : b.contact;
}

export class MemoryLocationStore implements LocationStore {
  private readonly byAor = new Map<string, Map<string, Binding>>();

  constructor(private readonly clock: Clock) {}

  private live(aor: string): Binding[] {
    const m = this.byAor.get(aor);
    if (!m) return [];
    const now = this.clock.now();
    const out: Binding[] = [];
    for (const [k, b] of m) {
      if (b.expiresAt <= now) m.delete(k);
      else out.push(b);
    }
    if (m.size === 0) this.byAor.delete(aor);
    return out.sort((a, b) => (b.q ?? 1) - (a.q ?? 1) || b.registeredAt - a.registeredAt);
  }

  async lookup(aor: string): Promise<Binding[]> {
    return this.live(aor);
  }
  async lookupUser(user: string): Promise<Binding[]> {
    const out: Binding[] = [];
    for (const aor of [...this.byAor.keys()]) {
      const at = aor.indexOf('@');
      if (at > 4 && aor.slice(4, at) === user) out.push(...this.live(aor));
    }
    return out;
  }
  async save(b: Binding): Promise<void> {
    let m = this.byAor.get(b.aor);
    if (!m) this.byAor.set(b.aor, (m = new Map<string, Binding>()));
    m.set(bindingKey(b), b);
  }
  async remove(aor: string, contact: string): Promise<void> {
    const m = this.byAor.get(aor);
    if (!m) return;
    for (const [k, b] of m) if (b.contact === contact) m.delete(k);
  }
  async removeAll(aor: string): Promise<void> {
    this.byAor.delete(aor);
  }
  async removeFlow(flowId: string): Promise<Binding[]> {
    const gone: Binding[] = [];
    for (const m of this.byAor.values()) {
      for (const [k, b] of m) {
        if (b.source.flowId === flowId && b.source.transport !== 'udp') {
          m.delete(k);
          gone.push(b);
        }
      }
    }
    return gone;
  }
  async purgeExpired(): Promise<Binding[]> {
    const now = this.clock.now();
    const gone: Binding[] = [];
    for (const [aor, m] of this.byAor) {
      for (const [k, b] of m) {
        if (b.expiresAt <= now) {
          m.delete(k);
          gone.push(b);
        }
      }
      if (m.size === 0) this.byAor.delete(aor);
    }
    return gone;
  }
  async count(): Promise<number> {
    let n = 0;
    for (const aor of [...this.byAor.keys()]) n += this.live(aor).length;
    return n;
  }
}
