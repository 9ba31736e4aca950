/**
 * Registering with a carrier (RFC 3261 §10.2, outbound registration): REGISTER now, refresh at
 * 80 % of the granted expiry, `stop()` un-registers. Failures are retried after 30 s and reported
 * via onState.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { SipResponse, type Transport } from './message.ts';
import type { Credentials } from './digest.ts';
import type { OutOfDialogRequest } from './uac.ts';
import { newCallId } from './via.ts';

export interface RegistrationOptions {
  /** The carrier's registrar URI. */
  registrar: string;
  aor: string;
  auth?: Credentials;
  expires?: number;
  transport?: Transport;
  onState?: (state: 'registered' | 'failed', status: number) => void;
}

export interface OutboundRegistration {
  stop(): Promise<void>;
  readonly registered: boolean;
}

/** What a registration needs from the stack: a non-INVITE request, our Contact, time, a log. */
export interface RegistrationHost {
  readonly clock: Clock;
  readonly log: Logger;
  contactFor(transport: Transport): string;
  request(target: string, opts: OutOfDialogRequest): Promise<SipResponse>;
}

export function register(host: RegistrationHost, opts: RegistrationOptions): OutboundRegistration {
  const callId = newCallId('reg');
  let cseq = 0;
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  let registered = false;
  let stopped = false;
  const once = async (expires: number): Promise<SipResponse> => {
    const t = opts.transport ?? 'udp';
    const res = await host.request(opts.registrar, {
      method: 'REGISTER',
      from: `<${opts.aor}>`,
      to: `<${opts.aor}>`,
      callId,
      cseq: ++cseq,
      headers: { Contact: host.contactFor(t), Expires: String(expires) },
      ...(opts.auth ? { auth: opts.auth } : {}),
    });
    // The auth retry used one more CSeq.
    cseq = Math.max(cseq, res.cseq.seq);
    return res;
  };
  const cycle = async (): Promise<void> => {
    if (stopped) return;
    const want = opts.expires ?? 3600;
    let res: SipResponse;
    try {
      res = await once(want);
    } catch (err) {
      host.log.warn({ err: String(err), registrar: opts.registrar }, 'outbound REGISTER failed');
      res = new SipResponse(503, 'Service Unavailable');
    }
    if (stopped) return;
    if (res.status >= 200 && res.status < 300) {
      registered = true;
      const granted = Number(res.get('expires') ?? /expires=(\d+)/.exec(res.get('contact') ?? '')?.[1] ?? want) || want;
      opts.onState?.('registered', res.status);
      timer = host.clock.setTimeout(() => void cycle(), Math.max(5, granted * 0.8) * 1000);
    } else {
      registered = false;
      opts.onState?.('failed', res.status);
      timer = host.clock.setTimeout(() => void cycle(), 30_000);
    }
  };
  void cycle();
  return {
    get registered() {
      return registered;
    },
    stop: async () => {
      stopped = true;
      if (timer) host.clock.clearTimeout(timer);
      if (registered) {
        registered = false;
        await once(0).catch(() => undefined);
      }
    },
  };
}
