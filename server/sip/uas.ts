/**
 * The UAS side of the stack (RFC 3261 §8.2, §12.1.1, §13.3): the transaction user that receives
 * every request no transaction absorbed. In-dialog requests go to their dialog (481 if none, 500
 * for an old CSeq); out-of-dialog ones pass the checks of §8.2.2 (Max-Forwards, Require, RFC 4028
 * Min-SE), then REGISTER goes to the registrar and the rest to the application's listener or a
 * default answer. createUAS answers an INVITE with 2xx and builds the dialog.
 */
import type { Logger } from '../../lib/log.ts';
import {
  SipRequest,
  SipError,
  makeResponse,
  REASONS,
  ALLOW,
  SUPPORTED,
  type RequestOptions,
  type SipMessage,
  type SipResponse,
  type Source,
} from './message.ts';
import type { ParseResult } from './parser.ts';
import { responseDestination, type Destination } from './transport.ts';
import type { ServerTransaction, TransactionUser } from './transaction.ts';
import { Dialog, type DialogHost } from './dialog.ts';
import { SipServerResponse, type ResponseHost } from './server-response.ts';
import type { Registrar } from './registrar.ts';
import { formatTarget } from './uri.ts';
import { newTag } from './via.ts';
import { sipMetrics } from './metrics.ts';
import { MIN_SE, negotiateUas } from './session-timer.ts';
import { parseRAck } from './prack.ts';

/** What the UAS needs from the stack. */
export interface UasHost {
  readonly log: Logger;
  /** The stack's dialogs by id: the UAS adds the ones it creates and routes requests to them. */
  readonly dialogs: Map<string, Dialog>;
  /** Given to the dialogs the UAS creates. */
  readonly dialogHost: DialogHost;
  /** Given to every SipServerResponse. */
  readonly responseHost: ResponseHost;
  readonly registrar: Registrar | undefined;
  sendRaw(msg: SipMessage, data: Buffer, dest: Destination): void;
  /** The ACK an ended dialog sent for the 2xx with this CSeq, kept 64*T1 after it ended (§13.2.2.4). */
  endedAck(dialogId: string, cseq: number): { data: Buffer; dest: Destination } | undefined;
  /**
   * Hand an out-of-dialog request to the application's listener for `event` (the method, lower
   * case). False when nobody listens, so the UAS answers by default. A listener's throw comes out.
   */
  deliver(event: string, req: SipRequest, res: SipServerResponse): boolean;
}

const KNOWN_METHODS = new Set([
  'INVITE',
  'ACK',
  'CANCEL',
  'BYE',
  'OPTIONS',
  'REGISTER',
  'INFO',
  'REFER',
  'NOTIFY',
  'SUBSCRIBE',
  'MESSAGE',
  'UPDATE',
  'PRACK',
  'PUBLISH',
]);

export class UserAgentServer implements TransactionUser {
  private readonly responses = new WeakMap<ServerTransaction, SipServerResponse>();
  /** INVITEs answered with reliable 18x, by early dialog id (Dialog.idOfRequest of a PRACK), until their final response. */
  private readonly early = new Map<string, SipServerResponse>();

  constructor(private readonly host: UasHost) {}

  /**
   * Answer an INVITE with 200 + SDP and build the dialog. Resolves when the ACK arrives; rejects
   * with SipError(487) if the caller CANCELled first, SipError(408) if no ACK came in 64*T1.
   */
  createUAS(req: SipRequest, res: SipServerResponse, opts: RequestOptions & { localSdp?: string } = {}): Promise<Dialog> {
    if (res.cancelled) return Promise.reject(new SipError(487, 'Request Terminated'));
    if (res.finalSent) return Promise.reject(new Error('a final response was already sent'));
    // RFC 3262 §3: the 2xx waits until the reliable 18x sent so far have their PRACK.
    // If none came in 64*T1, the 504 already went out: reject with it.
    if (res.reliable?.pending) {
      return res.reliable
        .settled()
        .then(() =>
          res.finalSent && !res.cancelled
            ? Promise.reject(new SipError(res.finalStatus ?? 500, 'final response sent while waiting for PRACK'))
            : this.createUAS(req, res, opts),
        );
    }
    res.reliable?.stop();
    const st = negotiateUas(req);
    const ok = res.build(200, {
      ...opts,
      ...(st.kind === 'timer' ? { headers: { ...st.headers, ...opts.headers } } : {}),
      ...(opts.localSdp !== undefined ? { body: opts.localSdp, contentType: 'application/sdp' } : {}),
    });
    const contact = req.get('contact');
    const d = new Dialog(this.host.dialogHost, 'uas', req.callId, res.toTag, req.fromTag ?? '', {
      localUri: ok.get('to') ?? '',
      remoteUri: req.get('from') ?? '',
      localSeq: Math.floor(Math.random() * 10000) + 1,
      remoteSeq: req.cseq.seq,
      remoteTarget: contact !== undefined ? formatTarget(contact) : req.uri,
      routeSet: [...req.getAll('record-route')],
      initial: req,
      ...(req.source ? { flowId: req.source.flowId } : {}),
      ...(opts.localSdp !== undefined ? { localSdp: opts.localSdp } : {}),
      ...(req.body.length ? { remoteSdp: req.bodyText } : {}),
    });
    this.host.dialogs.set(d.id, d);
    d.confirm();
    res.finalStatus = 200;
    res.st.respond(ok);
    const dest = responseDestination(req);
    return new Promise((resolve, reject) => {
      const onDestroy = (_bye: unknown, reason: string): void => reject(new SipError(487, `dialog ended before ACK (${reason})`));
      d.once('destroy', onDestroy);
      if (!dest) {
        reject(new Error('no route for the response'));
        return;
      }
      d.track2xx(
        req.cseq.seq,
        ok,
        dest,
        res.st.reliable,
        () => {
          d.off('destroy', onDestroy);
          if (st.kind === 'timer') d.armSessionTimer({ seconds: st.seconds, weRefresh: false });
          resolve(d);
        },
        () => {
          d.off('destroy', onDestroy);
          reject(new SipError(408, 'no ACK for 2xx'));
          void d.destroy();
        },
      );
    });
  }

  /** §8.2.6 for a request the parser rejected: answer it when it names enough to be answered. */
  onMalformed(r: ParseResult, src: Source): void {
    if (r.ok) return;
    sipMetrics.malformed.inc();
    this.host.log.info({ transport: src.transport, remote: `${src.address}:${src.port}`, err: r.error }, 'malformed sip message');
    const req = r.partial;
    if (!req || req.method === 'ACK') return;
    // §8.2.6 needs Via, From, To, Call-ID and CSeq to form a response at all.
    if (!req.has('via') || !req.has('from') || !req.has('to') || !req.has('call-id') || !req.has('cseq') || !req.topVia) return;
    req.source = src;
    const res = makeResponse(req, r.status, `${REASONS[r.status] ?? REASONS[400]} - ${r.error}`);
    const dest = responseDestination(req);
    if (dest) this.host.sendRaw(res, res.serialize(), dest);
  }

  /** Route PRACKs for this INVITE's early dialog here until its final response (RFC 3262 §3). */
  private trackEarly(req: SipRequest, res: SipServerResponse): void {
    // Forget the INVITEs that have their final response and nothing outstanding (bounded by the ringing calls).
    for (const [id, r] of this.early) if (r.finalSent && !r.reliable?.pending) this.early.delete(id);
    this.early.set(`${req.callId}|${res.toTag}|${req.fromTag ?? ''}`, res);
  }

  /** A PRACK in an early dialog: 200 if it acknowledges the outstanding reliable 18x, 481 if it matches none. */
  private onPrack(req: SipRequest, st: ServerTransaction): boolean {
    const id = Dialog.idOfRequest(req);
    const inv = this.early.get(`${req.callId}|${req.toTag ?? ''}|${req.fromTag ?? ''}`);
    if (!inv) return false;
    if (inv.finalSent && !inv.reliable?.pending) {
      this.early.delete(`${req.callId}|${req.toTag ?? ''}|${req.fromTag ?? ''}`);
      if (!this.host.dialogs.has(id)) {
        st.respond(makeResponse(req, 481));
        return true;
      }
      return false;
    }
    const res = new SipServerResponse(this.host.responseHost, req, st);
    this.responses.set(st, res);
    if (inv.reliable?.prack(parseRAck(req.get('rack')))) res.send(200);
    else res.send(481);
    return true;
  }

  onCancel(invite: ServerTransaction): void {
    const res = this.responses.get(invite);
    if (!res) {
      invite.respond(makeResponse(invite.request, 487, undefined, newTag()));
      return;
    }
    res.cancelled = true;
    if (!res.finalSent) res.send(487);
    res.emit('cancel', invite.request);
  }

  onStrayResponse(res: SipResponse): void {
    // A retransmitted 2xx after our INVITE transaction ended: re-ACK from the dialog (§13.2.2.4).
    if (res.cseq.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
    const id = Dialog.idOfResponse(res);
    const d = this.host.dialogs.get(id);
    const ack = d ? d.ackFor(res.cseq.seq) : this.host.endedAck(id, res.cseq.seq);
    if (ack) this.host.sendRaw(new SipRequest('ACK', d?.remoteTarget ?? res.get('contact') ?? ''), ack.data, ack.dest);
  }

  /** A request no transaction absorbed: to its dialog, the registrar, the application or a default answer. */
  onRequest(req: SipRequest, st: ServerTransaction | undefined): void {
    if (!st) {
      // ACK for a 2xx: belongs to the dialog.
      const d = this.host.dialogs.get(Dialog.idOfRequest(req));
      d?.receiveAck(req);
      return;
    }
    const toTag = req.toTag;
    if (req.method === 'PRACK' && toTag !== undefined && this.onPrack(req, st)) return;
    if (toTag !== undefined) {
      const d = this.host.dialogs.get(Dialog.idOfRequest(req));
      if (!d || d.state === 'terminated') {
        st.respond(makeResponse(req, 481));
        return;
      }
      if (!d.acceptRemoteSeq(req.cseq.seq)) {
        st.respond(makeResponse(req, 500, 'Server Internal Error - CSeq out of order'));
        return;
      }
      const res = new SipServerResponse(this.host.responseHost, req, st, d);
      this.responses.set(st, res);
      try {
        d.dispatch(req, res);
      } catch (err) {
        this.host.log.error({ err, callId: req.callId }, 'in-dialog handler failed');
        if (!res.finalSent) res.send(500);
      }
      return;
    }
    const res = new SipServerResponse(this.host.responseHost, req, st);
    this.responses.set(st, res);
    const mf = req.get('max-forwards');
    if (mf !== undefined && Number(mf) === 0 && req.method !== 'OPTIONS') {
      res.send(483);
      return;
    }
    const require = req.getAll('require').filter((o) => !['outbound', 'path', 'replaces', 'timer', '100rel'].includes(o.toLowerCase()));
    if (require.length && req.method !== 'CANCEL') {
      res.send(420, { headers: { Unsupported: require.join(', ') } });
      return;
    }
    if (req.method === 'INVITE' && negotiateUas(req).kind === 'too-small') {
      res.send(422, { reason: 'Session Interval Too Small', headers: { 'Min-SE': String(MIN_SE) } });
      return;
    }
    if (res.reliable) this.trackEarly(req, res);
    const event = req.method.toLowerCase();
    try {
      if (req.method === 'REGISTER' && this.host.registrar) {
        this.host.registrar.handle(req, res).catch((err: unknown) => {
          this.host.log.error({ err, callId: req.callId }, 'registrar failed');
          if (!res.finalSent) res.send(500);
        });
        return;
      }
      if (this.host.deliver(event, req, res)) return;
      switch (req.method) {
        case 'INVITE':
          res.send(480);
          return;
        case 'OPTIONS':
          res.send(200, { headers: { Allow: ALLOW, Accept: 'application/sdp', Supported: SUPPORTED } });
          return;
        default:
          res.send(KNOWN_METHODS.has(req.method) ? 405 : 501, { headers: { Allow: ALLOW } });
      }
    } catch (err) {
      this.host.log.error({ err, callId: req.callId }, 'request handler failed');
      if (!res.finalSent) {
        try {
          res.send(500);
        } catch {
          /* nothing more to do */
        }
      }
    }
  }
}
