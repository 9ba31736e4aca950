/**
 * How the application answers a request (RFC 3261 §8.2.6, §13.3.1): a response object bound to
 * the request's server transaction. Emits 'cancel' (invite) when the caller CANCELs an INVITE.
 *
 * Also RequestEmitter, the event base of the stack and of dialogs, whose request events carry one.
 */
import { Emitter, type EventMap } from '../../lib/events.ts';
import type { Logger } from '../../lib/log.ts';
import { makeResponse, ALLOW, SUPPORTED, type RequestOptions, type SipRequest, type SipResponse, type Transport } from './message.ts';
import type { ServerTransaction } from './transaction.ts';
import { responseDestination, type Destination } from './transport.ts';
import { newTag } from './via.ts';
import { negotiateUas } from './session-timer.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Timers } from './transaction.ts';
import { ReliableProvisionals, names100rel } from './prack.ts';

/** What a response needs from the stack: our Server header and our Contact. */
export interface ResponseHost {
  readonly userAgent: string;
  contactFor(transport: Transport): string;
  /** Needed for reliable provisional responses (RFC 3262); without them 18x are never sent reliably. */
  readonly clock?: Clock;
  readonly timers?: Timers;
}

/**
 * What a response to an in-dialog request needs from its dialog: a 2xx to a re-INVITE or UPDATE
 * refreshes the session timer, updates the SDP and is retransmitted until its ACK (§13.3.1.4).
 * Declared here, not imported from dialog.ts, so the dialog can depend on this file.
 */
export interface ResponseDialog {
  sessionTimer?: { seconds: number; weRefresh: boolean };
  localSdp: string | undefined;
  remoteSdp: string | undefined;
  armSessionTimer(timer?: { seconds: number; weRefresh: boolean }): void;
  track2xx(
    cseq: number,
    res: SipResponse,
    dest: Destination,
    reliable: boolean,
    onAck: (a: SipRequest) => void,
    onTimeout: () => void,
  ): void;
  end(reason: string): Promise<void>;
}

export type ServerResponseEvents = {
  /** The caller CANCELled the INVITE (487 already sent unless a final was); the INVITE itself. */
  cancel: [invite: SipRequest];
};

export class SipServerResponse extends Emitter<ServerResponseEvents> {
  finalStatus?: number;
  cancelled = false;
  /** Our To tag for a dialog-creating request. */
  readonly toTag: string;
  /**
   * RFC 3262 for an initial INVITE: set when the caller requires 100rel (or after
   * sendReliably() when it only supports it); 101-199 then go out reliably and the 2xx waits.
   */
  reliable?: ReliableProvisionals;

  constructor(
    private readonly host: ResponseHost,
    readonly req: SipRequest,
    readonly st: ServerTransaction,
    readonly dialog?: ResponseDialog,
  ) {
    super();
    this.toTag = req.toTag ?? newTag();
    if (req.method === 'INVITE' && !dialog && names100rel(req, 'require')) this.sendReliably();
  }

  /** Does the caller of this initial INVITE support (or require) 100rel? */
  get peerSupports100rel(): boolean {
    return this.req.method === 'INVITE' && !this.dialog && (names100rel(this.req, 'supported') || names100rel(this.req, 'require'));
  }

  /**
   * Send this INVITE's 101-199 reliably (RFC 3262): automatic when the caller requires 100rel; the
   * application may call it when the caller only supports it. False when that is not possible.
   */
  sendReliably(): boolean {
    if (this.reliable) return true;
    const { clock, timers } = this.host;
    if (!clock || !timers || !this.peerSupports100rel || this.finalSent) return false;
    this.reliable = new ReliableProvisionals(
      {
        clock,
        T1: timers.T1,
        transmit: (res) => this.st.respond(res),
        onGiveUp: () => {
          // §3: no PRACK within 64*T1; reject the INVITE with a 5xx.
          if (!this.finalSent) this.send(504, { reason: 'No PRACK' });
        },
      },
      this.req.cseq.seq,
    );
    return true;
  }

  get finalSent(): boolean {
    return this.finalStatus !== undefined;
  }

  /** Build (without sending) a response with our standard headers. */
  build(status: number, opts: RequestOptions & { reason?: string } = {}): SipResponse {
    const req = this.req;
    const res = makeResponse(req, status, opts.reason, status > 100 ? this.toTag : undefined);
    if (req.method === 'INVITE' && status > 100 && status < 300) {
      const rr = req.headers.get('record-route');
      if (rr && !this.dialog) res.headers.set('record-route', [...rr]);
      res.set('contact', this.host.contactFor(req.source?.transport ?? 'udp'));
      res.set('allow', ALLOW);
      res.set('supported', SUPPORTED);
    }
    res.set('server', this.host.userAgent);
    if (opts.headers) for (const [k, v] of Object.entries(opts.headers)) res.set(k, v);
    if (opts.body !== undefined) res.setBody(opts.body, opts.contentType ?? 'application/sdp');
    return res;
  }

  /**
   * Send a response. For a new INVITE, a 2xx must go through SipStack.createUAS (which builds the
   * dialog); provisional responses (180, 183 with early-media SDP) and rejections go here.
   */
  send(status: number, opts: RequestOptions & { reason?: string } = {}): SipResponse | undefined {
    if (this.finalSent) return undefined;
    const req = this.req;
    if (req.method === 'INVITE' && status >= 200 && status < 300 && !this.dialog) {
      throw new Error('answer a new INVITE with SipStack.createUAS(req, res, { localSdp })');
    }
    const refresh =
      this.dialog && status >= 200 && status < 300 && (req.method === 'INVITE' || req.method === 'UPDATE') ? negotiateUas(req) : undefined;
    const res = this.build(status, refresh?.kind === 'timer' ? { ...opts, headers: { ...refresh.headers, ...opts.headers } } : opts);
    if (status >= 200) this.finalStatus = status;
    if (this.reliable && req.method === 'INVITE' && status > 100 && status < 200) {
      this.reliable.send(res);
      return res;
    }
    if (status >= 200) this.reliable?.stop();
    this.st.respond(res);
    // A 2xx to a re-INVITE/UPDATE is a session refresh (RFC 4028 §9).
    if (refresh && this.dialog?.sessionTimer) {
      this.dialog.armSessionTimer(refresh.kind === 'timer' ? { seconds: refresh.seconds, weRefresh: false } : undefined);
    }
    if (req.method === 'INVITE' && status >= 200 && status < 300 && this.dialog) {
      const d = this.dialog;
      const dest = responseDestination(req);
      if (opts.body !== undefined) d.localSdp = typeof opts.body === 'string' ? opts.body : opts.body.toString('utf8');
      if (req.body.length && req.contentType === 'application/sdp') d.remoteSdp = req.bodyText;
      if (dest)
        d.track2xx(
          req.cseq.seq,
          res,
          dest,
          this.st.reliable,
          () => {},
          () => void d.end('ack-timeout'),
        );
    }
    return res;
  }
}

/**
 * An Emitter whose request events ([req, res] with a SipServerResponse) hold the application to
 * answering: a listener that throws or rejects is logged and its request answered 500 if no final
 * response went out, because an INVITE has no transaction timer to end it and the caller would
 * wait forever. Other events keep Emitter's rule (logged, the other listeners still run).
 *
 * Listeners are wrapped when added; the wrapper carries the original as `inner`, which is how
 * Emitter.off finds a once() wrapper, so off(name, fn) still removes them.
 */
export abstract class RequestEmitter<E extends EventMap<E>> extends Emitter<E> {
  protected abstract get eventLog(): Logger;

  override on<K extends keyof E>(name: K, fn: (...args: E[K]) => unknown): this {
    return super.on(name, this.answering(name, fn));
  }

  override once<K extends keyof E>(name: K, fn: (...args: E[K]) => unknown): this {
    const run = this.answering(name, fn);
    const wrapper: ((...args: E[K]) => void) & { inner?: unknown } = (...args: E[K]): void => {
      super.off(name, wrapper);
      run(...args);
    };
    wrapper.inner = fn;
    return super.on(name, wrapper);
  }

  private answering<K extends keyof E>(name: K, fn: (...args: E[K]) => unknown): ((...args: E[K]) => void) & { inner?: unknown } {
    const failed = (err: unknown, args: E[K]): void => {
      this.eventLog.error({ err, event: String(name) }, 'sip application handler failed');
      const res = args.find((a): a is SipServerResponse => a instanceof SipServerResponse);
      if (res && !res.finalSent) {
        try {
          res.send(500);
        } catch {
          /* already answered */
        }
      }
    };
    const wrapper: ((...args: E[K]) => void) & { inner?: unknown } = (...args: E[K]): void => {
      try {
        const r = fn.apply(this, args);
        if (r instanceof Promise) r.catch((err: unknown) => failed(err, args));
      } catch (err) {
        failed(err, args);
      }
    };
    wrapper.inner = fn;
    return wrapper;
  }
}
