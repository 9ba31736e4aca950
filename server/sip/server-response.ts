/**
 * How the application answers a request (RFC 3261 §8.2.6, §13.3.1): a response object bound to
 * the request's server transaction. Emits 'cancel' (invite) when the caller CANCELs an INVITE.
 */
import { EventEmitter } from 'node:events';
import { makeResponse, ALLOW, SUPPORTED, type RequestOptions, type SipRequest, type SipResponse, type Transport } from './message.ts';
import type { ServerTransaction } from './transaction.ts';
import { responseDestination, type Destination } from './transport.ts';
import { newTag } from './via.ts';
import { negotiateUas } from './session-timer.ts';

/** What a response needs from the stack: our Server header and our Contact. */
export interface ResponseHost {
  readonly userAgent: string;
  contactFor(transport: Transport): string;
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
  track2xx(cseq: number, res: SipResponse, dest: Destination, reliable: boolean, onAck: (a: SipRequest) => void, onTimeout: () => void): void;
  end(reason: string): Promise<void>;
}

export class SipServerResponse extends EventEmitter {
  finalStatus?: number;
  cancelled = false;
  /** Our To tag for a dialog-creating request. */
  readonly toTag: string;

  constructor(
    private readonly host: ResponseHost,
    readonly req: SipRequest,
    readonly st: ServerTransaction,
    readonly dialog?: ResponseDialog,
  ) {
    super();
    this.toTag = req.toTag ?? newTag();
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
    const refresh = this.dialog && status >= 200 && status < 300 && (req.method === 'INVITE' || req.method === 'UPDATE') ? negotiateUas(req) : undefined;
    const res = this.build(status, refresh?.kind === 'timer' ? { ...opts, headers: { ...refresh.headers, ...opts.headers } } : opts);
    if (status >= 200) this.finalStatus = status;
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
      if (dest) d.track2xx(req.cseq.seq, res, dest, this.st.reliable, () => {}, () => void d.end('ack-timeout'));
    }
    return res;
  }
}
