/**
 * Registering a trunk with a carrier (RFC 3261 §10.2, outbound registration).
 *
 *   const reg = sip.register({ trunk: 'carrier-a', registrar: 'sip:reg.carrier.example', aor: 'sip:+4420…@carrier.example',
 *                              auth: { username, password }, expires: 600 });
 *   reg.on('state', (s) => log.info(s));   // also 'registered' | 'failed' | 'unregistered'
 *   await reg.stop();                      // REGISTER Expires: 0, then 'unregistered'
 *
 * REGISTER now (answering one 401/407 per request with the credentials); on 2xx the granted expiry
 * (our Contact's expires parameter, else Expires, else what we asked) is kept and the binding
 * refreshed at `refreshRatio` (80 %) of it. A 423 with Min-Expires is retried at once with that
 * expiry. Any other failure (an error answer, 408 from no answer, 503 from a transport error) is
 * retried after a back-off that doubles from `retry.initialMs` (30 s) up to `retry.maxMs` (5 min),
 * or the server's Retry-After when it gives one; a success resets it.
 *
 * The state (RegistrationState: status, last error, granted expiry, when it lapses, consecutive
 * failures) is emitted as typed events and kept in the gauge
 * `sip_trunk_registration_status{trunk}`: 1 registered, 0 unregistered (not yet, or stopped),
 * -1 failed.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { Emitter } from '../../lib/events.ts';
import { SipResponse, type Transport } from './message.ts';
import type { Credentials } from './digest.ts';
import type { OutOfDialogRequest } from './uac.ts';
import { newCallId } from './via.ts';
import { parseNameAddr } from './uri.ts';
import { sipMetrics } from './metrics.ts';

export type RegistrationStatus = 'registered' | 'failed' | 'unregistered';

export interface RegistrationState {
  trunk: string;
  status: RegistrationStatus;
  /** Status code of the last final response (synthetic 408/503 for no answer / transport error). */
  lastStatus?: number;
  /** `401 Unauthorized`, `408 Request Timeout` … of the last failure; cleared by a success. */
  lastError?: string;
  /** Seconds granted by the registrar at the last success. */
  expires?: number;
  /** When the binding lapses at the registrar (ms since epoch, from the stack's clock). */
  expiresAt?: number;
  /** Consecutive failures since the last success. */
  failures: number;
  /** When the next REGISTER (refresh or retry) is due, ms since epoch. */
  nextAttemptAt?: number;
}

export type RegistrationEvents = {
  /** Every change (after each REGISTER's final answer and on stop). */
  state: [state: RegistrationState];
  registered: [state: RegistrationState];
  failed: [state: RegistrationState];
  unregistered: [state: RegistrationState];
};

export interface RegistrationOptions {
  /** Name in logs, events and the gauge's `trunk` label (default: the AOR). */
  trunk?: string;
  /** The carrier's registrar URI. */
  registrar: string;
  aor: string;
  auth?: Credentials;
  /** Expiry asked for, seconds (default 3600). */
  expires?: number;
  transport?: Transport;
  /** Refresh at this fraction of the granted expiry (default 0.8). */
  refreshRatio?: number;
  /** Back-off after failures (default 30 s doubling to 5 min). */
  retry?: { initialMs?: number; maxMs?: number };
  /** Called after each REGISTER's final answer (kept for older callers; prefer the events). */
  onState?: (state: 'registered' | 'failed', status: number) => void;
}

/** What a registration needs from the stack: a non-INVITE request, our Contact, time, a log. */
export interface RegistrationHost {
  readonly clock: Clock;
  readonly log: Logger;
  contactFor(transport: Transport): string;
  request(target: string, opts: OutOfDialogRequest): Promise<SipResponse>;
}

const GAUGE: Record<RegistrationStatus, number> = { registered: 1, unregistered: 0, failed: -1 };

export class OutboundRegistration extends Emitter<RegistrationEvents> {
  readonly trunk: string;
  private readonly callId = newCallId('reg');
  private cseq = 0;
  private timer?: TimerHandle;
  private stopped = false;
  private minExpires?: number;
  private current: RegistrationState;

  constructor(
    private readonly host: RegistrationHost,
    private readonly opts: RegistrationOptions,
  ) {
    super();
    this.trunk = opts.trunk ?? opts.aor;
    this.current = { trunk: this.trunk, status: 'unregistered', failures: 0 };
    sipMetrics.trunkRegistration.set({ trunk: this.trunk }, GAUGE.unregistered);
  }

  /** @internal Started by SipStack.register. */
  start(): this {
    void this.cycle();
    return this;
  }

  get registered(): boolean {
    return this.current.status === 'registered';
  }

  get state(): RegistrationState {
    return { ...this.current };
  }

  /** Stop refreshing; un-REGISTER (Expires: 0) if registered. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const was = this.current.status === 'registered';
    if (was) await this.send(0).catch(() => undefined);
    this.change({ trunk: this.trunk, status: 'unregistered', failures: 0 });
  }

  private async send(expires: number): Promise<SipResponse> {
    const t = this.opts.transport ?? 'udp';
    const res = await this.host.request(this.opts.registrar, {
      method: 'REGISTER',
      from: `<${this.opts.aor}>`,
      to: `<${this.opts.aor}>`,
      callId: this.callId,
      cseq: ++this.cseq,
      headers: { Contact: this.host.contactFor(t), Expires: String(expires) },
      ...(this.opts.auth ? { auth: this.opts.auth } : {}),
    });
    // The auth retry used one more CSeq.
    if (res.has('cseq')) this.cseq = Math.max(this.cseq, res.cseq.seq);
    return res;
  }

  /** The expiry the registrar granted our Contact (§10.2.4): its expires param, else Expires. */
  private granted(res: SipResponse, asked: number): number {
    const ours = parseNameAddr(this.host.contactFor(this.opts.transport ?? 'udp'))?.uri;
    for (const c of res.getAll('contact')) {
      const na = parseNameAddr(c);
      const u = na?.uri;
      if (u && ours && u.host === ours.host && u.port === ours.port && u.user === ours.user) {
        const e = Number(na.params.get('expires'));
        if (Number.isFinite(e) && e > 0) return e;
      }
    }
    const h = Number(res.get('expires'));
    return Number.isFinite(h) && h > 0 ? h : asked;
  }

  private async cycle(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const want = Math.max(this.opts.expires ?? 3600, this.minExpires ?? 0);
    let res: SipResponse;
    try {
      res = await this.send(want);
    } catch (err) {
      this.host.log.warn({ err: String(err), trunk: this.trunk, registrar: this.opts.registrar }, 'outbound REGISTER failed');
      res = new SipResponse(503, 'Service Unavailable');
    }
    if (this.stopped) return;
    const now = this.host.clock.now();
    if (res.status >= 200 && res.status < 300) {
      const expires = this.granted(res, want);
      const next = Math.max(1, expires * (this.opts.refreshRatio ?? 0.8)) * 1000;
      this.change({
        trunk: this.trunk,
        status: 'registered',
        lastStatus: res.status,
        expires,
        expiresAt: now + expires * 1000,
        failures: 0,
        nextAttemptAt: now + next,
      });
      this.opts.onState?.('registered', res.status);
      this.timer = this.host.clock.setTimeout(() => void this.cycle(), next);
      return;
    }
    const minExp = Number(res.get('min-expires'));
    if (res.status === 423 && Number.isFinite(minExp) && minExp > want && this.minExpires === undefined) {
      // §10.2.8: Interval Too Brief; ask again at once for the registrar's minimum.
      this.minExpires = minExp;
      void this.cycle();
      return;
    }
    const failures = this.current.failures + 1;
    const initial = this.opts.retry?.initialMs ?? 30_000;
    const max = this.opts.retry?.maxMs ?? 300_000;
    const retryAfter = Number(res.get('retry-after')?.split(/[;(\s]/)[0]);
    const backoff = Math.min(max, initial * 2 ** Math.min(failures - 1, 30));
    const delay = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(max, retryAfter * 1000) : backoff;
    const lapsed = this.current.expiresAt !== undefined && this.current.expiresAt > now ? { expiresAt: this.current.expiresAt } : {};
    this.change({
      trunk: this.trunk,
      status: 'failed',
      lastStatus: res.status,
      lastError: `${res.status} ${res.reason}`,
      failures,
      nextAttemptAt: now + delay,
      ...lapsed,
    });
    this.host.log.warn({ trunk: this.trunk, status: res.status, failures, retryInMs: delay }, 'trunk registration failed');
    this.opts.onState?.('failed', res.status);
    this.timer = this.host.clock.setTimeout(() => void this.cycle(), delay);
  }

  private change(s: RegistrationState): void {
    this.current = s;
    sipMetrics.trunkRegistration.set({ trunk: this.trunk }, GAUGE[s.status]);
    this.emit('state', { ...s });
    this.emit(s.status, { ...s });
  }
}

export function register(host: RegistrationHost, opts: RegistrationOptions): OutboundRegistration {
  return new OutboundRegistration(host, opts).start();
}
