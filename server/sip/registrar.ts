/**
 * The registrar (RFC 3261 §10.3) with digest authentication: binds contacts to an AOR in the
 * location service, honours Expires (header and parameter), '*' un-registration, Min-Expires
 * (423), Call-ID/CSeq ordering, and records the flow each contact registered over.
 */
import type { Clock } from '../../lib/clock.ts';
import type { SipRequest } from './message.ts';
import type { LocationStore, Binding } from './location.ts';
import { aorOf, formatTarget, parseNameAddr } from './uri.ts';
import type { SipServerResponse } from './server-response.ts';
import { sipMetrics } from './metrics.ts';

/** What the registrar needs from the stack: time, digest authentication, and whom to tell. */
export interface RegistrarHost {
  readonly clock: Clock;
  /** The authenticated user name, or undefined once a challenge or refusal has been sent. */
  authenticate(req: SipRequest, res: SipServerResponse): Promise<string | undefined>;
  /** A contact was bound ('registered' event); `refresh`: it renews the same registration (same contact and Call-ID). */
  registered(b: Binding, refresh: boolean): void;
  /** A binding was removed by the client ('unregistered' event). */
  unregistered(b: Binding): void;
}

export interface RegistrarOptions {
  minExpires?: number;
  maxExpires?: number;
  defaultExpires?: number;
  /** Challenge every REGISTER with digest (default true). */
  requireAuth?: boolean;
}

export class Registrar {
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly defaultExpires: number;
  readonly requireAuth: boolean;

  constructor(
    private readonly host: RegistrarHost,
    readonly store: LocationStore,
    opts: RegistrarOptions = {},
  ) {
    this.minExpires = opts.minExpires ?? 60;
    this.maxExpires = opts.maxExpires ?? 3600;
    this.defaultExpires = opts.defaultExpires ?? 3600;
    this.requireAuth = opts.requireAuth ?? true;
  }

  async handle(req: SipRequest, res: SipServerResponse): Promise<void> {
    const to = req.to;
    if (!to || to.uri.user === undefined) {
      res.send(400, { reason: 'Bad Request - To must name a user' });
      return;
    }
    if (this.requireAuth) {
      const user = await this.host.authenticate(req, res);
      if (user === undefined) return;
      if (user !== to.uri.user) {
        res.send(403, { reason: 'Forbidden - user does not match To' });
        return;
      }
    }
    const aor = aorOf(to.uri);
    const now = this.host.clock.now();
    const contacts = req.getAll('contact');
    const hdrExpires = req.get('expires');
    const headerExpires = hdrExpires !== undefined && /^\s*\d+\s*$/.test(hdrExpires) ? Number(hdrExpires) : undefined;
    const existing = await this.store.lookup(aor);

    if (contacts.length === 1 && contacts[0] === '*') {
      if (headerExpires !== 0) {
        res.send(400, { reason: 'Bad Request - * requires Expires: 0' });
        return;
      }
      await this.store.removeAll(aor);
      for (const b of existing) this.host.unregistered(b);
      await this.reply(res, aor);
      return;
    }
    const ops: { contact: string; expires: number; na: NonNullable<ReturnType<typeof parseNameAddr>> }[] = [];
    for (const c of contacts) {
      const na = c === '*' ? undefined : parseNameAddr(c);
      if (!na) {
        res.send(400, { reason: 'Bad Request - bad Contact' });
        return;
      }
      const pe = na.params.get('expires');
      let e = pe != null && /^\d+$/.test(pe) ? Number(pe) : (headerExpires ?? this.defaultExpires);
      if (e > this.maxExpires) e = this.maxExpires;
      if (e > 0 && e < this.minExpires) {
        res.send(423, { headers: { 'Min-Expires': String(this.minExpires) } });
        return;
      }
      ops.push({ contact: formatTarget(c), expires: e, na });
    }
    const callId = req.callId;
    const cseq = req.cseq.seq;
    for (const op of ops) {
      const prior = existing.find((b) => b.contact === op.contact);
      // §10.3 step 7: an older or repeated CSeq for the same Call-ID is out of order.
      if (prior && prior.callId === callId && prior.cseq >= cseq) {
        res.send(500, { reason: 'Server Internal Error - CSeq out of order', headers: { 'Retry-After': '1' } });
        return;
      }
    }
    for (const op of ops) {
      if (op.expires === 0) {
        const gone = existing.filter((b) => b.contact === op.contact);
        await this.store.remove(aor, op.contact);
        for (const b of gone) this.host.unregistered(b);
        continue;
      }
      const q = op.na.params.get('q');
      const inst = op.na.params.get('+sip.instance');
      const regId = op.na.params.get('reg-id');
      const ua = req.get('user-agent');
      const b: Binding = {
        aor,
        contact: op.contact,
        expiresAt: now + op.expires * 1000,
        callId,
        cseq,
        source: req.source!,
        registeredAt: now,
        ...(q != null && !Number.isNaN(Number(q)) ? { q: Number(q) } : {}),
        ...(inst != null ? { instanceId: inst } : {}),
        ...(regId != null && /^\d+$/.test(regId) ? { regId: Number(regId) } : {}),
        ...(ua !== undefined ? { userAgent: ua } : {}),
      };
      const prior = existing.find((x) => x.contact === op.contact);
      await this.store.save(b);
      this.host.registered(b, prior !== undefined && prior.callId === callId);
    }
    await this.reply(res, aor);
  }

  private async reply(res: SipServerResponse, aor: string): Promise<void> {
    const now = this.host.clock.now();
    const live = await this.store.lookup(aor);
    sipMetrics.registrations.set(await this.store.count());
    const headers: Record<string, string | string[]> = { Date: new Date(now).toUTCString() };
    if (live.length) headers.Contact = live.map((b) => `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`);
    res.send(200, { headers });
  }
}
