/**
 * The UAC side of the stack (RFC 3261 §8.1, §13.2, §14.1, §22.2): requests we send. Every request
 * gets a fresh top Via and our Contact here; non-INVITE requests (out of dialog and in dialog)
 * resolve with their final response; INVITEs build dialogs (createUAC), ACK 2xx (§13.2.2.4) and
 * CANCEL (§9.1). One 401/407 per request is answered when credentials are given.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import {
  SipRequest,
  SipError,
  makeResponse,
  ALLOW,
  SUPPORTED,
  type RequestOptions,
  type SipMessage,
  type SipResponse,
  type Transport,
} from './message.ts';
import { uriDestination, TransportError, type Destination, type TransportLayer } from './transport.ts';
import type { TransactionLayer } from './transaction.ts';
import { Dialog, type DialogHost } from './dialog.ts';
import type { Credentials } from './digest.ts';
import { withCredentials } from './authentication.ts';
import { formatTarget, parseUri, type SipUri } from './uri.ts';
import { newBranch, newCallId, newTag } from './via.ts';
import { timerFromAnswer } from './session-timer.ts';
import { ProvisionalSequence } from './prack.ts';

export interface UacOptions extends RequestOptions {
  localSdp?: string;
  /** From header value without tag, e.g. `"Queue" <sip:support@cc.example>`. */
  from?: string;
  /** To header value; defaults to the target URI. */
  to?: string;
  callId?: string;
  auth?: Credentials;
  onProvisional?: (res: SipResponse) => void;
  /** Abort to CANCEL the call (before the 2xx). */
  signal?: AbortSignal;
  /** Send here instead of resolving the URI (e.g. a registered agent's flow, see bindingDestination). */
  destination?: Destination;
  /** Outbound proxy URI: added as a loose Route. */
  proxy?: string;
  /** Give up after this long without a 2xx: CANCEL and reject with SipError(408, 'No Answer'). */
  timeoutMs?: number;
  /**
   * Give up after this long without any response at all (not even 100 Trying): stop the INVITE
   * transaction and reject with SipError(408, 'No Response'). Shorter than Timer B, for failing
   * over to a carrier's next address (locate.ts).
   */
  responseTimeoutMs?: number;
}

/** An out-of-dialog non-INVITE request (SipStack.request). */
export interface OutOfDialogRequest extends RequestOptions {
  method: string;
  auth?: Credentials;
  from?: string;
  to?: string;
  callId?: string;
  cseq?: number;
  destination?: Destination;
}

/** What the UAC needs from the stack. */
export interface UacHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  readonly userAgent: string;
  readonly contactUser: string;
  /** The stack's dialogs by id: the UAC adds the ones it creates and finds them for 2xx retransmissions. */
  readonly dialogs: Map<string, Dialog>;
  /** Given to the dialogs the UAC creates. */
  readonly dialogHost: DialogHost;
  contactFor(transport: Transport): string;
  sendRaw(msg: SipMessage, data: Buffer, dest: Destination): void;
  /** The ACK an ended dialog sent for the 2xx with this CSeq, kept 64*T1 after it ended (§13.2.2.4). */
  endedAck(dialogId: string, cseq: number): { data: Buffer; dest: Destination } | undefined;
}

/** Methods whose requests carry our Contact (§8.1.1.8, §12.1.2: they establish or refresh a target). */
const TARGET_REFRESH = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);

export class UserAgentClient {
  constructor(private readonly host: UacHost) {}

  /** Stamp a fresh top Via (and Contact when needed) for the flow `dest` will use. */
  private prepare(req: SipRequest, dest: Destination): Transport {
    const flow = this.host.transport.openFlowSync(dest);
    const t = flow?.transport ?? dest.transport;
    const adv = this.host.transport.advertised(t) ?? this.host.transport.listening[0]?.advertised ?? { host: '127.0.0.1', port: 5060 };
    req.prepend('via', `SIP/2.0/${t.toUpperCase()} ${adv.host}:${adv.port};branch=${newBranch()};rport`);
    if (TARGET_REFRESH.has(req.method) && !req.has('contact')) req.set('contact', this.host.contactFor(t));
    if (!req.has('user-agent')) req.set('user-agent', this.host.userAgent);
    return t;
  }

  /**
   * Run a non-INVITE client transaction and resolve with its final response (synthetic 408 on
   * timeout, 503 on transport error, per §8.1.3.1). Answers one 401/407 when credentials are given.
   */
  private transact(req: SipRequest, dest: Destination, auth?: Credentials, onProvisional?: (r: SipResponse) => void): Promise<SipResponse> {
    return new Promise((resolve) => {
      let challenged = false;
      const run = (r: SipRequest): void => {
        this.prepare(r, dest);
        this.host.transactions.request(r, dest, {
          onResponse: (res) => {
            if (res.status < 200) {
              onProvisional?.(res);
              return;
            }
            if ((res.status === 401 || res.status === 407) && auth && !challenged) {
              const retry = withCredentials(r, res, auth);
              if (retry) {
                challenged = true;
                run(retry);
                return;
              }
            }
            resolve(res);
          },
          onTimeout: () => resolve(makeResponse(r, 408)),
          onTransportError: () => resolve(makeResponse(r, 503)),
        });
      };
      try {
        run(req);
      } catch (err) {
        this.host.log.warn({ err: String(err) }, 'request could not be sent');
        resolve(makeResponse(req, 503));
      }
    });
  }

  /** Out-of-dialog non-INVITE request (OPTIONS ping, MESSAGE, REGISTER to a carrier). */
  async request(target: string, opts: OutOfDialogRequest): Promise<SipResponse> {
    const uri = parseUri(target);
    if (!uri) throw new Error(`bad request URI: ${target}`);
    const dest = opts.destination ?? (await uriDestination(uri));
    const req = new SipRequest(opts.method, target);
    const adv = this.host.transport.advertised(dest.transport) ?? this.host.transport.listening[0]?.advertised;
    req.set('max-forwards', '70');
    req.set('from', `${opts.from ?? `<sip:${this.host.contactUser}@${adv?.host ?? '127.0.0.1'}>`};tag=${newTag()}`);
    req.set('to', opts.to ?? `<${target}>`);
    req.set('call-id', opts.callId ?? newCallId(adv?.host ?? 'cc'));
    req.set('cseq', `${opts.cseq ?? 1} ${opts.method}`);
    if (opts.headers) for (const [k, v] of Object.entries(opts.headers)) req.set(k, v);
    if (opts.body !== undefined) req.setBody(opts.body, opts.contentType ?? 'text/plain');
    return this.transact(req, dest, opts.auth);
  }

  /** A dialog's non-INVITE request (DialogHost.sendRequestInDialog). */
  async sendRequestInDialog(d: Dialog, req: SipRequest, nextHop: SipUri): Promise<SipResponse> {
    let dest: Destination;
    try {
      dest = await uriDestination(nextHop, d.flowId);
    } catch {
      return makeResponse(req, 503);
    }
    return this.transact(req, dest, d.auth);
  }

  /** A dialog's re-INVITE (DialogHost.sendReinvite): resolves on 2xx (after sending ACK), rejects with SipError otherwise. */
  async sendReinvite(d: Dialog, req: SipRequest, nextHop: SipUri): Promise<SipResponse> {
    const dest = await uriDestination(nextHop, d.flowId);
    return new Promise((resolve, reject) => {
      let challenged = false;
      const run = (r: SipRequest): void => {
        this.prepare(r, dest);
        this.host.transactions.request(r, dest, {
          onResponse: (res) => {
            if (res.status < 200) return;
            if (res.status < 300) {
              this.ackDialog(d, r.cseq.seq, dest);
              resolve(res);
              return;
            }
            if ((res.status === 401 || res.status === 407) && d.auth && !challenged) {
              const retry = withCredentials(r, res, d.auth);
              if (retry) {
                challenged = true;
                d.localSeq = retry.cseq.seq;
                run(retry);
                return;
              }
            }
            reject(new SipError(res.status, res.reason, res));
          },
          onTimeout: () => reject(new SipError(408, 'Request Timeout')),
          onTransportError: () => reject(new SipError(503, 'Service Unavailable')),
        });
      };
      run(req);
    });
  }

  /** Send (or resend) the ACK for a 2xx to our INVITE with CSeq `seq` (§13.2.2.4). */
  private ackDialog(d: Dialog, seq: number, dest: Destination): void {
    const prior = d.ackFor(seq);
    if (prior) {
      this.host.sendRaw(new SipRequest('ACK', d.remoteTarget), prior.data, prior.dest);
      return;
    }
    const { req: ack } = d.createRequest('ACK');
    ack.set('cseq', `${seq} ACK`);
    this.prepare(ack, dest);
    const data = ack.serialize();
    d.rememberAck(seq, data, dest);
    this.host.sendRaw(ack, data, dest);
  }

  /**
   * Place an outbound call. Resolves with the dialog on the first 2xx (ACK already sent); extra
   * 2xx from forks are ACKed and released with BYE. Rejects with SipError on failure; aborting
   * `signal` CANCELs (rejects immediately with SipError(487)).
   */
  async createUAC(target: string, opts: UacOptions = {}): Promise<Dialog> {
    const uri = parseUri(target);
    if (!uri) throw new Error(`bad target URI: ${target}`);
    const proxyUri = opts.proxy !== undefined ? parseUri(opts.proxy) : undefined;
    if (opts.proxy !== undefined && !proxyUri) throw new Error(`bad proxy URI: ${opts.proxy}`);
    let dest: Destination;
    try {
      dest = opts.destination ?? (await uriDestination(proxyUri ?? uri));
    } catch (err) {
      throw new SipError(503, err instanceof TransportError ? err.message : 'Service Unavailable');
    }
    if (opts.signal?.aborted) throw new SipError(487, 'Request Terminated');
    const adv = this.host.transport.advertised(dest.transport) ?? this.host.transport.listening[0]?.advertised;
    const callId = opts.callId ?? newCallId(adv?.host ?? 'cc');
    const fromTag = newTag();
    const from = `${opts.from ?? `<sip:${this.host.contactUser}@${adv?.host ?? '127.0.0.1'}>`};tag=${fromTag}`;

    return new Promise<Dialog>((resolve, reject) => {
      let settled = false;
      let challenged = false;
      let provisional = false;
      let cancelWanted = false;
      let cancelSent = false;
      let current: SipRequest;
      let noAnswer: ReturnType<Clock['setTimeout']> | undefined;
      let noResponse: ReturnType<Clock['setTimeout']> | undefined;
      let heard = false;
      // RFC 3262 §4: reliable 18x get a PRACK; its CSeq is above the INVITE's, the dialog's next above that.
      const reliable = new ProvisionalSequence();
      let lastSeq = 0;
      const settle = (fn: () => void): void => {
        if (!settled) {
          settled = true;
          opts.signal?.removeEventListener('abort', onAbort);
          if (noAnswer) this.host.clock.clearTimeout(noAnswer);
          if (noResponse) this.host.clock.clearTimeout(noResponse);
          fn();
        }
      };
      const sendCancel = (): void => {
        if (cancelSent) return;
        cancelSent = true;
        const c = new SipRequest('CANCEL', current.uri);
        for (const h of ['via', 'from', 'to', 'call-id', 'route', 'max-forwards']) {
          const v = current.headers.get(h);
          if (v) c.headers.set(h, h === 'via' ? [v[0]!] : [...v]);
        }
        c.set('cseq', `${current.cseq.seq} CANCEL`);
        this.host.transactions.request(c, dest, { onResponse: () => {}, onTimeout: () => {}, onTransportError: () => {} });
      };
      const onAbort = (): void => {
        cancelWanted = true;
        if (provisional) sendCancel();
        settle(() => reject(new SipError(487, 'Request Terminated')));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs !== undefined) {
        noAnswer = this.host.clock.setTimeout(() => {
          cancelWanted = true;
          if (provisional) sendCancel();
          settle(() => reject(new SipError(408, 'No Answer')));
        }, opts.timeoutMs);
      }
      if (opts.responseTimeoutMs !== undefined) {
        noResponse = this.host.clock.setTimeout(() => {
          noResponse = undefined;
          if (heard || settled) return;
          // The transaction runs on to Timer B: a late 18x is CANCELled, a late 2xx ACKed and released with BYE.
          cancelWanted = true;
          settle(() => reject(new SipError(408, 'No Response')));
        }, opts.responseTimeoutMs);
      }

      const run = (r: SipRequest): void => {
        current = r;
        lastSeq = Math.max(lastSeq, r.cseq.seq);
        this.prepare(r, dest);
        this.host.transactions.request(r, dest, {
          onResponse: (res) => {
            heard = true;
            if (res.status < 200) {
              provisional = true;
              if (cancelWanted) {
                sendCancel();
                return;
              }
              const kind = reliable.classify(res);
              if (kind === 'ignore') return;
              if (kind === 'prack') this.sendPrack(r, res, ++lastSeq, dest, opts.auth);
              if (res.status > 100 && !settled) opts.onProvisional?.(res);
              return;
            }
            if (res.status < 300) {
              const id = Dialog.idOfResponse(res);
              const existing = this.host.dialogs.get(id);
              if (existing) {
                this.ackDialog(existing, r.cseq.seq, dest);
                return;
              }
              // A 2xx retransmitted after our dialog already ended: the same ACK again, no new dialog.
              const ended = this.host.endedAck(id, r.cseq.seq);
              if (ended) {
                this.host.sendRaw(new SipRequest('ACK', r.uri), ended.data, ended.dest);
                return;
              }
              const d = this.uacDialog(r, res, callId, fromTag, opts, lastSeq);
              this.ackDialog(d, r.cseq.seq, dest);
              if (settled) {
                // A fork's extra 2xx, or a 2xx that crossed our CANCEL: ACK then release (§13.2.2.4).
                void d.destroy();
                return;
              }
              settle(() => resolve(d));
              return;
            }
            if ((res.status === 401 || res.status === 407) && opts.auth && !challenged && !settled) {
              const retry = withCredentials(r, res, opts.auth);
              if (retry) {
                challenged = true;
                provisional = false;
                run(retry);
                return;
              }
            }
            settle(() => reject(new SipError(res.status, res.reason, res)));
          },
          onTimeout: () => settle(() => reject(new SipError(408, 'Request Timeout'))),
          onTransportError: (err) => settle(() => reject(new SipError(503, `Service Unavailable (${err.message})`))),
        });
      };

      const inv = new SipRequest('INVITE', target);
      if (proxyUri) inv.set('route', `<${opts.proxy!.replace(/^<|>$/g, '')}${proxyUri.params.has('lr') ? '' : ';lr'}>`);
      inv.set('max-forwards', '70');
      inv.set('from', from);
      inv.set('to', opts.to ?? `<${target}>`);
      inv.set('call-id', callId);
      inv.set('cseq', '1 INVITE');
      inv.set('allow', ALLOW);
      inv.set('supported', SUPPORTED);
      if (opts.headers) for (const [k, v] of Object.entries(opts.headers)) inv.set(k, v);
      if (opts.localSdp !== undefined) inv.setBody(opts.localSdp, 'application/sdp');
      else if (opts.body !== undefined) inv.setBody(opts.body, opts.contentType ?? 'application/sdp');
      try {
        run(inv);
      } catch (err) {
        settle(() => reject(err instanceof Error ? err : new Error(String(err))));
      }
    });
  }

  /**
   * PRACK a reliable 18x in its early dialog (RFC 3262 §4, §7.2): to the 18x's Contact through its
   * Record-Route, with RAck naming it. A failure is logged: the UAS will give up on the call.
   */
  private sendPrack(inv: SipRequest, res: SipResponse, seq: number, inviteDest: Destination, auth?: Credentials): void {
    const contact = res.get('contact');
    const routes = [...res.getAll('record-route')].reverse();
    const prack = new SipRequest('PRACK', contact !== undefined ? formatTarget(contact) : inv.uri);
    if (routes.length) prack.headers.set('route', routes);
    prack.set('max-forwards', '70');
    prack.set('from', inv.get('from') ?? '');
    prack.set('to', res.get('to') ?? '');
    prack.set('call-id', inv.callId);
    prack.set('cseq', `${seq} PRACK`);
    prack.set('rack', `${res.get('rseq') ?? ''} ${inv.cseq.seq} INVITE`);
    const hop = parseUri(routes[0] !== undefined ? formatTarget(routes[0]) : prack.uri);
    const go = async (): Promise<SipResponse> => {
      const dest = hop ? await uriDestination(hop, res.source?.flowId).catch(() => inviteDest) : inviteDest;
      return this.transact(prack, dest, auth);
    };
    go()
      .then((r) => {
        if (r.status >= 300) this.host.log.warn({ callId: inv.callId, status: r.status }, 'PRACK refused');
      })
      .catch((err: unknown) => this.host.log.warn({ callId: inv.callId, err: String(err) }, 'PRACK failed'));
  }

  private uacDialog(req: SipRequest, res: SipResponse, callId: string, fromTag: string, opts: UacOptions, localSeq: number): Dialog {
    const contact = res.get('contact');
    const d = new Dialog(this.host.dialogHost, 'uac', callId, fromTag, res.toTag ?? '', {
      localUri: req.get('from') ?? '',
      remoteUri: res.get('to') ?? '',
      localSeq: Math.max(localSeq, req.cseq.seq),
      remoteTarget: contact !== undefined ? formatTarget(contact) : req.uri,
      routeSet: [...res.getAll('record-route')].reverse(),
      initial: res,
      ...(res.source ? { flowId: res.source.flowId } : {}),
      ...(opts.localSdp !== undefined ? { localSdp: opts.localSdp } : {}),
      ...(res.body.length ? { remoteSdp: res.bodyText } : {}),
    });
    if (opts.auth) d.auth = opts.auth;
    this.host.dialogs.set(d.id, d);
    d.confirm();
    const timer = timerFromAnswer(res);
    if (timer) d.armSessionTimer(timer);
    return d;
  }
}
