/**
 * Dialogs (RFC 3261 §12–15): the peer-to-peer state of a call — Call-ID and tags, local and
 * remote CSeq, remote target and route set — plus the in-dialog methods a contact centre needs:
 * BYE, re-INVITE (hold/resume, target refresh), INFO (DTMF), REFER/NOTIFY (transfer), OPTIONS.
 *
 * Events (typed by DialogEvents):
 *   'destroy' (bye?: SipRequest, reason: string)  'remote-bye', 'ack-timeout', 'flow-closed',
 *             'session-expired', 'session-refresh-failed', 'shutdown'
 *   'modify'  (req, res)  re-INVITE; without a listener we answer 200 with the current local SDP
 *   'info' | 'refer' | 'notify' | 'options' | 'message' | 'update'  (req, res)
 *   'ack'     (req)  ACK for our 2xx (initial or re-INVITE)
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { SipRequest, SipError, ALLOW, type RequestOptions, type SipMessage, type SipResponse } from './message.ts';
import { formatTarget, parseNameAddr, parseUri, type SipUri } from './uri.ts';
import type { Destination } from './transport.ts';
import type { Timers } from './transaction.ts';
import type { Credentials } from './digest.ts';
import { RequestEmitter, type SipServerResponse } from './server-response.ts';
import { sipMetrics } from './metrics.ts';
import { watchdogMs } from './session-timer.ts';

/**
 * What a dialog needs from the stack (the SIP.js `*Delegate` pattern): send its requests through
 * client transactions, send bytes outside transactions (ACK, 2xx retransmissions), timers, and a
 * place to linger after it ends. The stack implements it; the dialog never sees the stack.
 */
export interface DialogHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly timers: Timers;
  /** Non-INVITE in-dialog request: the final response (synthetic 408/503 on timeout/transport failure). */
  sendRequestInDialog(d: Dialog, req: SipRequest, nextHop: SipUri): Promise<SipResponse>;
  /** re-INVITE: resolves on 2xx (ACK sent), rejects with SipError otherwise. */
  sendReinvite(d: Dialog, req: SipRequest, nextHop: SipUri): Promise<SipResponse>;
  sendRaw(msg: SipMessage, data: Buffer, dest: Destination): void;
  /** The dialog ended: forget it, keeping what answers late retransmissions (its ACKs) a while. */
  retireDialog(d: Dialog): void;
}

/** A dialog's id (§12): Call-ID, local tag, remote tag. */
function dialogId(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}|${localTag}|${remoteTag}`;
}

export type DialogState = 'early' | 'confirmed' | 'terminated';

/** An in-dialog request for the application to answer. */
type InDialogRequest = [req: SipRequest, res: SipServerResponse];

export type DialogEvents = {
  /** The dialog ended for `reason` (not after our own destroy()); `bye` when the peer sent one. */
  destroy: [bye: SipRequest | undefined, reason: string];
  /** re-INVITE; without a listener we answer 200 with the current local SDP. */
  modify: InDialogRequest;
  info: InDialogRequest;
  refer: InDialogRequest;
  notify: InDialogRequest;
  options: InDialogRequest;
  message: InDialogRequest;
  update: InDialogRequest;
  subscribe: InDialogRequest;
  prack: InDialogRequest;
  publish: InDialogRequest;
  /** ACK for our 2xx (initial or re-INVITE). */
  ack: [ack: SipRequest];
  /**
   * The browser's WebSocket this dialog runs on closed. With a listener the dialog stays up (its
   * owner waits for the browser to come back, server/call/legRecovery.ts); without one it ends
   * at once ('destroy' with reason 'flow-closed').
   */
  flowLost: [];
  /** The same browser registered again on a new WebSocket: in-dialog requests go down it now. */
  flowRestored: [flowId: string];
};
/** Events named after the method of the in-dialog request they carry. */
type MethodEvent = Exclude<keyof DialogEvents, 'destroy' | 'modify' | 'ack' | 'flowLost' | 'flowRestored'>;

/** A 2xx to an INVITE that we keep retransmitting until its ACK arrives (§13.3.1.4). */
interface Pending2xx {
  cseq: number;
  data: Buffer;
  res: SipResponse;
  dest: Destination;
  interval: number;
  timer?: TimerHandle;
  deadline: TimerHandle;
  reliable: boolean;
  onAck: (ack: SipRequest) => void;
  onTimeout: () => void;
}

export class Dialog extends RequestEmitter<DialogEvents> {
  state: DialogState = 'early';
  readonly id: string;
  /** Our From (UAC) / To (UAS) header value, with our tag. */
  localUri: string;
  /** The peer's From/To header value, with its tag. */
  remoteUri: string;
  localSeq: number;
  remoteSeq: number | undefined;
  remoteTarget: string;
  routeSet: string[];
  localSdp: string | undefined;
  remoteSdp: string | undefined;
  /** The flow the dialog was established on; in-dialog requests prefer it (RFC 5626 §4.3). */
  flowId: string | undefined;
  /** Credentials for challenges on in-dialog requests (carrier trunks challenge BYE, re-INVITE). */
  auth?: Credentials;
  /** The initial INVITE (UAS) or its final 2xx (UAC). */
  readonly initial: SipRequest | SipResponse;
  private pending2xx = new Map<number, Pending2xx>();
  /** Our ACKs for 2xx, by CSeq, to resend when the 2xx is retransmitted. */
  private acks = new Map<number, { data: Buffer; dest: Destination }>();
  /** A re-INVITE of ours is in progress (glare -> 491, §14.1). */
  reinviteInProgress = false;
  /** RFC 4028 session timer, when negotiated. */
  sessionTimer?: { seconds: number; weRefresh: boolean };
  private sessionTimerHandle?: TimerHandle;

  constructor(
    private readonly host: DialogHost,
    readonly role: 'uac' | 'uas',
    readonly callId: string,
    readonly localTag: string,
    readonly remoteTag: string,
    init: {
      localUri: string;
      remoteUri: string;
      localSeq: number;
      remoteSeq?: number;
      remoteTarget: string;
      routeSet: string[];
      flowId?: string;
      localSdp?: string;
      remoteSdp?: string;
      initial: SipRequest | SipResponse;
    },
  ) {
    super();
    this.id = dialogId(callId, localTag, remoteTag);
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.flowId = init.flowId;
    this.localSdp = init.localSdp;
    this.remoteSdp = init.remoteSdp;
    this.initial = init.initial;
  }

  /** The id of the dialog a received request belongs to: we are its To side (§12.2.2). */
  static idOfRequest(req: SipMessage): string {
    return dialogId(req.callId, req.toTag ?? '', req.fromTag ?? '');
  }

  /** The id of the dialog a received response belongs to: we are its From side (§12.1.2). */
  static idOfResponse(res: SipMessage): string {
    return dialogId(res.callId, res.fromTag ?? '', res.toTag ?? '');
  }

  /**
   * §12.2.2: a request whose CSeq is not above the last one from the peer is out of order (the
   * caller answers 500); otherwise its CSeq becomes the last.
   */
  acceptRemoteSeq(seq: number): boolean {
    if (this.remoteSeq !== undefined && seq <= this.remoteSeq) return false;
    this.remoteSeq = seq;
    return true;
  }

  protected get eventLog(): Logger {
    return this.host.log;
  }

  /** Build an in-dialog request per §12.2.1.1 (loose routing; strict routing per §16.12.1.1). */
  createRequest(method: string, opts: RequestOptions = {}): { req: SipRequest; nextHop: SipUri } {
    let ruri = this.remoteTarget;
    let routes = [...this.routeSet];
    const first = routes[0] !== undefined ? parseNameAddr(routes[0]) : undefined;
    let nextHop: SipUri | undefined;
    if (first && !first.uri.params.has('lr')) {
      // Strict router: it becomes the Request-URI and the remote target goes last in Route.
      const strict = { ...first.uri, params: new Map(first.uri.params) };
      strict.params.delete('method');
      ruri = formatStrict(strict);
      routes = [...routes.slice(1), `<${this.remoteTarget}>`];
      nextHop = strict;
    } else if (first) {
      nextHop = first.uri;
    }
    const req = new SipRequest(method, ruri);
    if (routes.length) req.set('route', routes);
    req.set('max-forwards', '70');
    req.set('from', this.localUri);
    req.set('to', this.remoteUri);
    req.set('call-id', this.callId);
    const seq = method === 'ACK' || method === 'CANCEL' ? this.localSeq : ++this.localSeq;
    req.set('cseq', `${seq} ${method}`);
    if (opts.headers) for (const [k, v] of Object.entries(opts.headers)) req.set(k, v);
    if (opts.body !== undefined) req.setBody(opts.body, opts.contentType ?? 'application/sdp');
    const hop = nextHop ?? parseUri(this.remoteTarget);
    if (!hop) throw new Error(`dialog ${this.id}: unusable remote target ${this.remoteTarget}`);
    return { req, nextHop: hop };
  }

  /**
   * Send an in-dialog non-INVITE request (INFO, NOTIFY, OPTIONS, REFER, MESSAGE, BYE) and resolve
   * with the final response (a synthetic 408/503 on timeout or transport failure).
   */
  async request(method: string, opts: RequestOptions = {}): Promise<SipResponse> {
    if (this.state === 'terminated' && method !== 'BYE') throw new Error(`dialog ${this.id} is terminated`);
    if (method === 'INVITE') throw new Error('use modify() for re-INVITE');
    const { req, nextHop } = this.createRequest(method, opts);
    return this.host.sendRequestInDialog(this, req, nextHop);
  }

  /**
   * re-INVITE with a new offer (hold: a=sendonly; resume: a=sendrecv). Resolves with the
   * remote answer SDP; rejects with SipError on a non-2xx (491 on glare — retry later).
   */
  async modify(sdp: string, opts: RequestOptions = {}): Promise<string | undefined> {
    if (this.state !== 'confirmed') throw new Error(`dialog ${this.id} is not confirmed`);
    if (this.reinviteInProgress) throw new Error('re-INVITE already in progress');
    this.reinviteInProgress = true;
    try {
      const { req, nextHop } = this.createRequest('INVITE', { ...opts, body: sdp, contentType: 'application/sdp' });
      const res = await this.host.sendReinvite(this, req, nextHop);
      this.localSdp = sdp;
      if (res.body.length) this.remoteSdp = res.bodyText;
      return this.remoteSdp;
    } finally {
      this.reinviteInProgress = false;
    }
  }

  /** Send BYE and end the dialog. Resolves when the BYE transaction completes (any response). */
  async destroy(opts: RequestOptions = {}): Promise<void> {
    if (this.state === 'terminated') return;
    const wasEarly = this.state === 'early';
    this.terminate('local-bye');
    if (wasEarly && this.role === 'uac') return; // early UAC dialogs end via CANCEL, not BYE
    try {
      const { req, nextHop } = this.createRequest('BYE', opts);
      await this.host.sendRequestInDialog(this, req, nextHop);
    } catch (err) {
      this.host.log.debug({ callId: this.callId, err: String(err) }, 'BYE failed');
    }
  }

  /** RFC 3515 §2.4.5: report transfer progress to the referrer as a message/sipfrag NOTIFY. */
  notifyRefer(status: number, reason: string, final = status >= 200): Promise<SipResponse> {
    return this.request('NOTIFY', {
      headers: {
        Event: 'refer',
        'Subscription-State': final ? 'terminated;reason=noresource' : 'active;expires=60',
      },
      body: `SIP/2.0 ${status} ${reason}\r\n`,
      contentType: 'message/sipfrag;version=2.0',
    });
  }

  /**
   * @internal The dialog's WebSocket closed: keep the dialog if its owner listens for 'flowLost'
   * (true), else end it now ('flow-closed').
   */
  loseFlow(): boolean {
    if (this.state === 'terminated') return true;
    if (this.listenerCount('flowLost') === 0) {
      this.terminate('flow-closed');
      return false;
    }
    this.emit('flowLost');
    return true;
  }

  /**
   * @internal Re-bind the dialog to the flow its remote target registered on again (RFC 5626 §5:
   * a request to a contact goes down the flow it registered over).
   */
  rebindFlow(flowId: string): void {
    if (this.state === 'terminated' || this.flowId === flowId) return;
    this.flowId = flowId;
    this.emit('flowRestored', flowId);
  }

  /** @internal mark confirmed (2xx sent or received). */
  confirm(): void {
    if (this.state === 'early') {
      this.state = 'confirmed';
      sipMetrics.dialogs.inc();
    }
  }

  /** @internal end the dialog locally (no BYE sent). */
  terminate(reason: string, bye?: SipRequest): void {
    if (this.state === 'terminated') return;
    if (this.state === 'confirmed') sipMetrics.dialogs.dec();
    this.state = 'terminated';
    if (this.sessionTimerHandle) this.host.clock.clearTimeout(this.sessionTimerHandle);
    for (const p of this.pending2xx.values()) this.stopPending(p);
    this.pending2xx.clear();
    // The stack forgets us now, keeping only our ACKs for 2xx retransmissions a while.
    this.host.retireDialog(this);
    if (reason !== 'local-bye') this.emit('destroy', bye, reason);
  }

  /**
   * @internal (Re)arm the RFC 4028 timer: as refresher, re-INVITE with the current SDP at half the
   * interval; otherwise end the call (BYE, 'destroy' with reason 'session-expired') if no refresh
   * arrives in time.
   */
  armSessionTimer(timer?: { seconds: number; weRefresh: boolean }): void {
    if (timer) this.sessionTimer = timer;
    const t = this.sessionTimer;
    if (!t || this.state === 'terminated') return;
    const clock = this.host.clock;
    if (this.sessionTimerHandle) clock.clearTimeout(this.sessionTimerHandle);
    if (t.weRefresh) {
      this.sessionTimerHandle = clock.setTimeout(() => void this.refreshSession(), (t.seconds * 1000) / 2);
    } else {
      this.sessionTimerHandle = clock.setTimeout(() => {
        this.host.log.info({ callId: this.callId }, 'session timer expired without refresh');
        void this.end('session-expired');
      }, watchdogMs(t.seconds));
    }
  }

  private async refreshSession(): Promise<void> {
    const t = this.sessionTimer;
    if (!t || this.state !== 'confirmed') return;
    if (this.reinviteInProgress) {
      this.sessionTimerHandle = this.host.clock.setTimeout(() => void this.refreshSession(), 5000);
      return;
    }
    try {
      await this.modify(this.localSdp ?? '', {
        headers: { 'Session-Expires': `${t.seconds};refresher=uac`, Supported: 'timer' },
      });
      this.armSessionTimer();
    } catch (err) {
      const status = err instanceof SipError ? err.status : 0;
      // §10: a refresh answered 408/481 (or not at all) means the session is gone.
      if (status === 491) this.sessionTimerHandle = this.host.clock.setTimeout(() => void this.refreshSession(), 2000);
      else void this.end('session-refresh-failed');
    }
  }

  /** @internal End for a reason the application did not cause: BYE, then 'destroy' with the reason. */
  async end(reason: string): Promise<void> {
    if (this.state === 'terminated') return;
    const { req, nextHop } = this.createRequest('BYE');
    this.terminate(reason);
    await this.host.sendRequestInDialog(this, req, nextHop).catch(() => undefined);
  }

  /** @internal Start sending a 2xx until ACK (§13.3.1.4), with the give-up timer at 64*T1. */
  track2xx(
    cseq: number,
    res: SipResponse,
    dest: Destination,
    reliable: boolean,
    onAck: (a: SipRequest) => void,
    onTimeout: () => void,
  ): void {
    const { clock, timers } = this.host;
    const data = res.serialize();
    const p: Pending2xx = {
      cseq,
      data,
      res,
      dest,
      interval: timers.T1,
      reliable,
      onAck,
      onTimeout,
      deadline: clock.setTimeout(() => {
        this.pending2xx.delete(cseq);
        this.stopPending(p);
        sipMetrics.timeouts.inc({ timer: '2xx-ack' });
        onTimeout();
      }, 64 * timers.T1),
    };
    if (!reliable) {
      const tick = (): void => {
        sipMetrics.retransmissions.inc({ timer: '2xx' });
        this.host.sendRaw(res, data, dest);
        p.interval = Math.min(p.interval * 2, timers.T2);
        p.timer = clock.setTimeout(tick, p.interval);
      };
      p.timer = clock.setTimeout(tick, p.interval);
    }
    this.pending2xx.set(cseq, p);
  }

  private stopPending(p: Pending2xx): void {
    if (p.timer) this.host.clock.clearTimeout(p.timer);
    this.host.clock.clearTimeout(p.deadline);
  }

  /** @internal An ACK arrived for this dialog. */
  receiveAck(ack: SipRequest): void {
    const p = this.pending2xx.get(ack.cseq.seq);
    if (!p) return; // retransmitted ACK
    this.pending2xx.delete(ack.cseq.seq);
    this.stopPending(p);
    if (ack.body.length && ack.contentType === 'application/sdp') this.remoteSdp = ack.bodyText;
    p.onAck(ack);
    this.emit('ack', ack);
  }

  /** @internal Remember the ACK we sent for a 2xx so retransmitted 2xx get it again. */
  rememberAck(cseq: number, data: Buffer, dest: Destination): void {
    this.acks.set(cseq, { data, dest });
  }
  /** @internal */
  ackFor(cseq: number): { data: Buffer; dest: Destination } | undefined {
    return this.acks.get(cseq);
  }
  /** @internal The ACKs we sent for 2xx, by CSeq (undefined if none): all an ended dialog still answers with. */
  get sentAcks(): ReadonlyMap<number, { data: Buffer; dest: Destination }> | undefined {
    return this.acks.size ? this.acks : undefined;
  }

  /** @internal Dispatch an in-dialog request (CSeq already checked with acceptRemoteSeq). */
  dispatch(req: SipRequest, res: SipServerResponse): void {
    const m = req.method;
    if (m === 'INVITE' || m === 'UPDATE' || m === 'NOTIFY' || m === 'REFER' || m === 'SUBSCRIBE') {
      // Target refresh (§12.2.2): a new Contact replaces the remote target.
      const c = req.get('contact');
      const na = c !== undefined ? parseNameAddr(c) : undefined;
      if (na && (m === 'INVITE' || m === 'UPDATE')) this.remoteTarget = formatTarget(c!);
    }
    switch (m) {
      case 'BYE':
        res.send(200);
        this.terminate('remote-bye', req);
        return;
      case 'INVITE':
        if (this.reinviteInProgress) {
          res.send(491);
          return;
        }
        // remoteSdp changes only when a 2xx accepts the offer (SipServerResponse.send).
        if (this.listenerCount('modify') > 0) this.emit('modify', req, res);
        else res.send(200, { body: this.localSdp ?? '', contentType: 'application/sdp' });
        return;
      default: {
        // Any method is looked up by its name; one outside DialogEvents has no listener unless
        // added with a cast, and then gets the default answer below.
        const ev = m.toLowerCase() as MethodEvent;
        if (this.listenerCount(ev) > 0) {
          this.emit(ev, req, res);
          return;
        }
        if (m === 'REFER') res.send(603);
        else if (m === 'UPDATE') {
          // An UPDATE with an offer gets our current SDP; without one it is a session refresh.
          res.send(200, req.body.length && this.localSdp ? { body: this.localSdp, contentType: 'application/sdp' } : {});
        } else if (m === 'INFO' || m === 'OPTIONS' || m === 'NOTIFY' || m === 'MESSAGE') res.send(200);
        else res.send(405, { headers: { Allow: ALLOW } });
      }
    }
  }
}

function formatStrict(u: SipUri): string {
  let s = `${u.scheme}:`;
  if (u.user !== undefined) s += `${u.user}@`;
  s += u.host;
  if (u.port !== undefined) s += `:${u.port}`;
  for (const [k, v] of u.params) s += v === null ? `;${k}` : `;${k}=${v}`;
  return s;
}
