/**
 * The SIP stack's call-control surface (in the spirit of drachtio-srf): one object that owns the
 * transports, the transaction layer, the dialogs and the registrar, and hands the application
 * `invite` requests with response objects, createUAS / createUAC, and Dialog objects.
 *
 *   const sip = new SipStack({ clock, log, realm, credentials });
 *   await sip.listen({ udp: { port: 5060 }, tcp: { port: 5060 }, ws: { server, path: '/sip' } });
 *   sip.on('invite', async (req, res) => { res.send(180); const d = await sip.createUAS(req, res, { localSdp }); });
 *   const d = await sip.createUAC('sip:1001@10.0.0.5', { localSdp, auth, onProvisional, signal });
 *
 * Events: 'invite' (req, res), 'options' | 'message' | 'subscribe' | 'notify' | 'refer' |
 * 'info' | 'publish' (req, res) out of dialog, 'registered' / 'unregistered' (Binding).
 */
import { EventEmitter } from 'node:events';
import { SystemClock, type Clock } from '../../lib/clock.ts';
import { log as rootLog, type Logger } from '../../lib/log.ts';
import {
  SipRequest,
  SipResponse,
  SipError,
  makeResponse,
  REASONS,
  ALLOW,
  SUPPORTED,
  type RequestOptions,
  type SipMessage,
  type Source,
  type Transport,
} from './message.ts';
import { DEFAULT_LIMITS, type ParseLimits, type ParseResult } from './parser.ts';
import {
  TransportLayer,
  RELIABLE,
  responseDestination,
  uriDestination,
  TransportError,
  type Destination,
} from './transport.ts';
import { TransactionLayer, DEFAULT_TIMERS, type Timers, type ServerTransaction, type TransactionUser } from './transaction.ts';
import { Dialog, type DialogHost } from './dialog.ts';
import { SipServerResponse, type ResponseHost } from './server-response.ts';
import { DigestServer, authorize, parseChallenge, type Credentials } from './digest.ts';
import { MemoryLocationStore, type Binding, type LocationStore } from './location.ts';
import { Registrar, type RegistrarOptions } from './registrar.ts';
import { listenUdp, type UdpOptions } from './udp.ts';
import { listenTcp, listenTls, type TcpOptions, type TlsOptions } from './tcp.ts';
import { listenWs, type WsOptions } from './websocket.ts';
import { parseUri, aorOf, formatTarget, type SipUri } from './uri.ts';
import { newBranch, newCallId, newTag } from './via.ts';
import { sipMetrics, kindOf } from './metrics.ts';
import { MIN_SE, negotiateUas, timerFromAnswer } from './session-timer.ts';

// Moved out so the dialog and the registrar need not import the stack; re-exported for callers.
export { SipError, SipServerResponse };
export type { Credentials, RequestOptions };

export interface SipStackOptions {
  clock?: Clock;
  log?: Logger;
  /** Digest realm for REGISTER and inbound challenges. */
  realm?: string;
  /** Digest algorithms offered (default both; wire order explained in DigestServer.challenges). */
  digestAlgorithms?: ('MD5' | 'SHA-256')[];
  /**
   * User-Agents that get a single MD5 challenge. Default: baresip 0.x/1.x, whose libre rejects a
   * 401 as soon as any challenge is not MD5 or two share a realm.
   */
  md5OnlyUserAgents?: RegExp[];
  /** Password lookup for digest (agents, trunks). */
  credentials?: (user: string, realm: string) => string | undefined | Promise<string | undefined>;
  location?: LocationStore;
  /** false disables the built-in registrar (REGISTER then goes to a 'register' listener or 405). */
  registrar?: boolean | RegistrarOptions;
  timers?: Partial<Timers>;
  limits?: Partial<ParseLimits>;
  userAgent?: string;
  /** User part of our Contact URIs. */
  contactUser?: string;
}

export interface ListenOptions {
  udp?: UdpOptions | UdpOptions[];
  tcp?: TcpOptions | TcpOptions[];
  tls?: TlsOptions;
  ws?: WsOptions;
  wss?: WsOptions;
}

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
  /** Give up after this long without a 2xx: CANCEL and reject with SipError(408). */
  timeoutMs?: number;
}

const TARGET_REFRESH = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'REFER']);

export class SipStack extends EventEmitter implements DialogHost, ResponseHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly timers: Timers;
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  readonly location: LocationStore;
  readonly registrar?: Registrar;
  readonly digest: DigestServer;
  readonly realm: string;
  readonly userAgent: string;
  readonly contactUser: string;
  private readonly credentials?: SipStackOptions['credentials'];
  private readonly md5OnlyUserAgents: RegExp[];
  private readonly dialogs = new Map<string, Dialog>();
  private sweepTimer?: ReturnType<Clock['setTimeout']>;
  private closed = false;
  private readonly responses = new WeakMap<ServerTransaction, SipServerResponse>();

  constructor(opts: SipStackOptions = {}) {
    super({ captureRejections: true });
    this.clock = opts.clock ?? new SystemClock();
    this.log = opts.log ?? rootLog.child({ mod: 'sip' });
    this.timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.realm = opts.realm ?? 'callcentre';
    this.userAgent = opts.userAgent ?? 'callcentre';
    this.contactUser = opts.contactUser ?? 'cc';
    if (opts.credentials) this.credentials = opts.credentials;
    this.md5OnlyUserAgents = opts.md5OnlyUserAgents ?? [/^baresip v[01]\./i];
    this.transport = new TransportLayer(this.log, { ...DEFAULT_LIMITS, ...opts.limits });
    this.transactions = new TransactionLayer(
      this.clock,
      { send: (msg, data, dest) => this.sendData(msg, data, dest) },
      this.log,
      this.timers,
    );
    this.transactions.tu = this.tu;
    this.digest = new DigestServer(this.realm, this.clock, opts.digestAlgorithms);
    this.location = opts.location ?? new MemoryLocationStore(this.clock);
    if (opts.registrar !== false) {
      this.registrar = new Registrar(
        {
          clock: this.clock,
          authenticate: (req, res) => this.authenticate(req, res),
          registered: (b) => this.emit('registered', b),
          unregistered: (b) => this.emit('unregistered', b),
        },
        this.location, typeof opts.registrar === 'object' ? opts.registrar : {});
    }
    this.transport.on('message', (msg: SipMessage) => this.onMessage(msg));
    this.transport.on('malformed', (r: ParseResult, src: Source) => this.onMalformed(r, src));
    this.transport.on('flowClosed', (flowId: string) => {
      void this.location
        .removeFlow(flowId)
        .then(async (gone) => {
          for (const b of gone) this.emit('unregistered', b);
          if (gone.length) sipMetrics.registrations.set(await this.location.count());
        })
        .catch((err: unknown) => this.log.warn({ err }, 'location removeFlow failed'));
      // A browser's WebSocket is its only signalling path (its Contact is *.invalid): when it
      // closes, its calls can no longer be controlled, so they end here ('flow-closed').
      if (flowId.startsWith('ws')) {
        for (const d of [...this.dialogs.values()]) {
          if (d.flowId === flowId && d.state !== 'terminated') d.terminate('flow-closed');
        }
      }
    });
  }

  /** Errors thrown (or rejected) by application listeners: log, and answer 500 if nobody did. */
  [Symbol.for('nodejs.rejection')](err: unknown, event: string | symbol, ...args: unknown[]): void {
    this.log.error({ err, event: String(event) }, 'sip application handler failed');
    const res = args[1];
    if (res instanceof SipServerResponse && !res.finalSent) {
      try {
        res.send(500);
      } catch {
        /* already answered */
      }
    }
  }

  async listen(opts: ListenOptions): Promise<void> {
    const arr = <T,>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    for (const o of arr(opts.udp)) await listenUdp(this.transport, o);
    for (const o of arr(opts.tcp)) await listenTcp(this.transport, o);
    if (opts.tls) await listenTls(this.transport, opts.tls);
    if (opts.ws) await listenWs(this.transport, { ...opts.ws, secure: false });
    if (opts.wss) await listenWs(this.transport, { ...opts.wss, secure: true });
    if (this.registrar && !this.sweepTimer && !this.closed) this.scheduleSweep();
  }

  /** Ports actually bound (useful with port 0). */
  get addresses(): { transport: Transport; host: string; port: number }[] {
    return this.transport.listening.map((l) => ({ transport: l.transport, ...l.advertised }));
  }

  /** Every 30 s: expired bindings are dropped and reported as 'unregistered'. */
  private scheduleSweep(): void {
    this.sweepTimer = this.clock.setTimeout(() => {
      void this.location
        .purgeExpired()
        .then(async (gone) => {
          for (const b of gone) this.emit('unregistered', b);
          if (gone.length) sipMetrics.registrations.set(await this.location.count());
        })
        .catch((err: unknown) => this.log.warn({ err }, 'location purge failed'))
        .finally(() => {
          if (!this.closed) this.scheduleSweep();
        });
    }, 30_000);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    this.transactions.clear();
    for (const d of [...this.dialogs.values()]) d.terminate('shutdown');
    this.dialogs.clear();
    await this.transport.close();
  }

  // ---------------------------------------------------------------- sending

  /** @internal The transaction layer's sender: find or open the flow and write. */
  async sendData(msg: SipMessage, data: Buffer, dest: Destination): Promise<void> {
    const flow = this.transport.openFlowSync(dest) ?? (await this.transport.flowFor(dest));
    flow.send(data, dest.address, dest.port);
    const kind = msg instanceof SipRequest ? msg.method : kindOf(false, (msg as SipResponse).status);
    sipMetrics.sent.inc({ kind, transport: flow.transport });
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug(
        { callId: msg.callId, dir: 'out', transport: flow.transport, remote: `${dest.address}:${dest.port}`, line: msg.startLine() },
        'sip out',
      );
      this.log.trace({ callId: msg.callId, msg: data.toString('utf8') }, 'sip out (full)');
    }
  }

  /** @internal Fire-and-forget send outside transactions (ACK for 2xx, 2xx retransmissions). */
  sendRaw(msg: SipMessage, data: Buffer, dest: Destination): void {
    this.sendData(msg, data, dest).catch((err: unknown) => {
      sipMetrics.transportErrors.inc();
      this.log.debug({ callId: msg.callId, err: String(err) }, 'send failed');
    });
  }

  /** Our Contact for a transport. */
  contactFor(transport: Transport): string {
    const adv = this.transport.advertised(transport) ?? this.transport.listening[0]?.advertised ?? { host: '127.0.0.1', port: 5060 };
    return `<sip:${this.contactUser}@${adv.host}:${adv.port}${transport === 'udp' ? '' : `;transport=${transport}`}>`;
  }

  /** Stamp a fresh top Via (and Contact when needed) for the flow `dest` will use. */
  private prepare(req: SipRequest, dest: Destination): Transport {
    const flow = this.transport.openFlowSync(dest);
    const t = flow?.transport ?? dest.transport;
    const adv = this.transport.advertised(t) ?? this.transport.listening[0]?.advertised ?? { host: '127.0.0.1', port: 5060 };
    req.prepend('via', `SIP/2.0/${t.toUpperCase()} ${adv.host}:${adv.port};branch=${newBranch()};rport`);
    if (TARGET_REFRESH.has(req.method) && !req.has('contact')) req.set('contact', this.contactFor(t));
    if (!req.has('user-agent')) req.set('user-agent', this.userAgent);
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
        this.transactions.request(r, dest, {
          onResponse: (res) => {
            if (res.status < 200) {
              onProvisional?.(res);
              return;
            }
            if ((res.status === 401 || res.status === 407) && auth && !challenged) {
              const retry = this.withAuth(r, res, auth);
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
        this.log.warn({ err: String(err) }, 'request could not be sent');
        resolve(makeResponse(req, 503));
      }
    });
  }

  /** Copy of `req` with CSeq+1, no Via, and an Authorization answering `res`'s challenge. */
  private withAuth(req: SipRequest, res: SipResponse, auth: Credentials): SipRequest | undefined {
    const proxy = res.status === 407;
    const values = res.getAll(proxy ? 'proxy-authenticate' : 'www-authenticate');
    const chal = values.map(parseChallenge).find((c) => c !== undefined);
    if (!chal) return undefined;
    const retry = new SipRequest(req.method, req.uri);
    for (const [k, v] of req.headers) if (k !== 'via') retry.headers.set(k, [...v]);
    retry.body = req.body;
    const seq = req.cseq.seq + 1;
    retry.set('cseq', `${seq} ${req.method}`);
    retry.set(proxy ? 'proxy-authorization' : 'authorization', authorize(chal, auth, req.method, req.uri));
    return retry;
  }

  /** Out-of-dialog non-INVITE request (OPTIONS ping, MESSAGE, REGISTER to a carrier). */
  async request(target: string, opts: RequestOptions & { method: string; auth?: Credentials; from?: string; to?: string; callId?: string; cseq?: number; destination?: Destination }): Promise<SipResponse> {
    const uri = parseUri(target);
    if (!uri) throw new Error(`bad request URI: ${target}`);
    const dest = opts.destination ?? (await uriDestination(uri));
    const req = new SipRequest(opts.method, target);
    const adv = this.transport.advertised(dest.transport) ?? this.transport.listening[0]?.advertised;
    req.set('max-forwards', '70');
    req.set('from', `${opts.from ?? `<sip:${this.contactUser}@${adv?.host ?? '127.0.0.1'}>`};tag=${newTag()}`);
    req.set('to', opts.to ?? `<${target}>`);
    req.set('call-id', opts.callId ?? newCallId(adv?.host ?? 'cc'));
    req.set('cseq', `${opts.cseq ?? 1} ${opts.method}`);
    if (opts.headers) for (const [k, v] of Object.entries(opts.headers)) req.set(k, v);
    if (opts.body !== undefined) req.setBody(opts.body, opts.contentType ?? 'text/plain');
    return this.transact(req, dest, opts.auth);
  }

  /** @internal */
  async sendRequestInDialog(d: Dialog, req: SipRequest, nextHop: SipUri): Promise<SipResponse> {
    let dest: Destination;
    try {
      dest = await uriDestination(nextHop, d.flowId);
    } catch {
      return makeResponse(req, 503);
    }
    return this.transact(req, dest, d.auth);
  }

  /** @internal re-INVITE: resolves on 2xx (after sending ACK), rejects with SipError otherwise. */
  async sendReinvite(d: Dialog, req: SipRequest, nextHop: SipUri): Promise<SipResponse> {
    const dest = await uriDestination(nextHop, d.flowId);
    return new Promise((resolve, reject) => {
      let challenged = false;
      const run = (r: SipRequest): void => {
        this.prepare(r, dest);
        this.transactions.request(r, dest, {
          onResponse: (res) => {
            if (res.status < 200) return;
            if (res.status < 300) {
              this.ackDialog(d, r.cseq.seq, dest);
              resolve(res);
              return;
            }
            if ((res.status === 401 || res.status === 407) && d.auth && !challenged) {
              const retry = this.withAuth(r, res, d.auth);
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
      this.sendRaw(new SipRequest('ACK', d.remoteTarget), prior.data, prior.dest);
      return;
    }
    const { req: ack } = d.createRequest('ACK');
    ack.set('cseq', `${seq} ACK`);
    this.prepare(ack, dest);
    const data = ack.serialize();
    d.rememberAck(seq, data, dest);
    this.sendRaw(ack, data, dest);
  }

  // ---------------------------------------------------------------- UAS / UAC

  /**
   * Answer an INVITE with 200 + SDP and build the dialog. Resolves when the ACK arrives; rejects
   * with SipError(487) if the caller CANCELled first, SipError(408) if no ACK came in 64*T1.
   */
  createUAS(req: SipRequest, res: SipServerResponse, opts: RequestOptions & { localSdp?: string } = {}): Promise<Dialog> {
    if (res.cancelled) return Promise.reject(new SipError(487, 'Request Terminated'));
    if (res.finalSent) return Promise.reject(new Error('a final response was already sent'));
    const st = negotiateUas(req);
    const ok = res.build(200, {
      ...opts,
      ...(st.kind === 'timer' ? { headers: { ...st.headers, ...opts.headers } } : {}),
      ...(opts.localSdp !== undefined ? { body: opts.localSdp, contentType: 'application/sdp' } : {}),
    });
    const contact = req.get('contact');
    const d = new Dialog(this, 'uas', req.callId, res.toTag, req.fromTag ?? '', {
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
    this.dialogs.set(d.id, d);
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
    const adv = this.transport.advertised(dest.transport) ?? this.transport.listening[0]?.advertised;
    const callId = opts.callId ?? newCallId(adv?.host ?? 'cc');
    const fromTag = newTag();
    const from = `${opts.from ?? `<sip:${this.contactUser}@${adv?.host ?? '127.0.0.1'}>`};tag=${fromTag}`;

    return new Promise<Dialog>((resolve, reject) => {
      let settled = false;
      let challenged = false;
      let provisional = false;
      let cancelWanted = false;
      let cancelSent = false;
      let current: SipRequest;
      let noAnswer: ReturnType<Clock['setTimeout']> | undefined;
      const settle = (fn: () => void): void => {
        if (!settled) {
          settled = true;
          opts.signal?.removeEventListener('abort', onAbort);
          if (noAnswer) this.clock.clearTimeout(noAnswer);
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
        this.transactions.request(c, dest, { onResponse: () => {}, onTimeout: () => {}, onTransportError: () => {} });
      };
      const onAbort = (): void => {
        cancelWanted = true;
        if (provisional) sendCancel();
        settle(() => reject(new SipError(487, 'Request Terminated')));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeoutMs !== undefined) {
        noAnswer = this.clock.setTimeout(() => {
          cancelWanted = true;
          if (provisional) sendCancel();
          settle(() => reject(new SipError(408, 'No Answer')));
        }, opts.timeoutMs);
      }

      const run = (r: SipRequest): void => {
        current = r;
        this.prepare(r, dest);
        this.transactions.request(r, dest, {
          onResponse: (res) => {
            if (res.status < 200) {
              provisional = true;
              if (cancelWanted) sendCancel();
              else if (res.status > 100 && !settled) opts.onProvisional?.(res);
              return;
            }
            if (res.status < 300) {
              const existing = this.dialogs.get(Dialog.idOfResponse(res));
              if (existing) {
                this.ackDialog(existing, r.cseq.seq, dest);
                return;
              }
              const d = this.uacDialog(r, res, callId, fromTag, opts);
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
              const retry = this.withAuth(r, res, opts.auth);
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

  private uacDialog(req: SipRequest, res: SipResponse, callId: string, fromTag: string, opts: UacOptions): Dialog {
    const contact = res.get('contact');
    const d = new Dialog(this, 'uac', callId, fromTag, res.toTag ?? '', {
      localUri: req.get('from') ?? '',
      remoteUri: res.get('to') ?? '',
      localSeq: req.cseq.seq,
      remoteTarget: contact !== undefined ? formatTarget(contact) : req.uri,
      routeSet: [...res.getAll('record-route')].reverse(),
      initial: res,
      ...(res.source ? { flowId: res.source.flowId } : {}),
      ...(opts.localSdp !== undefined ? { localSdp: opts.localSdp } : {}),
      ...(res.body.length ? { remoteSdp: res.bodyText } : {}),
    });
    if (opts.auth) d.auth = opts.auth;
    this.dialogs.set(d.id, d);
    d.confirm();
    const timer = timerFromAnswer(res);
    if (timer) d.armSessionTimer(timer);
    return d;
  }

  /** @internal Called when a dialog ends: keep it 32 s for late retransmissions, then forget it. */
  retireDialog(d: Dialog): void {
    this.clock.setTimeout(() => {
      if (this.dialogs.get(d.id) === d) this.dialogs.delete(d.id);
    }, 32_000);
  }

  dialog(id: string): Dialog | undefined {
    return this.dialogs.get(id);
  }
  get dialogCount(): number {
    return this.dialogs.size;
  }

  // ---------------------------------------------------------------- registrar helpers

  /** Bindings for an AOR (`sip:agent1@host`) or a bare user name (`agent1`, any domain). */
  async lookup(target: string): Promise<Binding[]> {
    if (!target.includes('@')) return this.location.lookupUser(target);
    const u = parseUri(target);
    return u ? this.location.lookup(aorOf(u)) : [];
  }

  /** Where to send a request for a binding: down its flow (WS/TCP) or to where it registered from (UDP). */
  bindingDestination(b: Binding): Destination {
    const s = b.source;
    return { transport: s.transport, address: s.address, port: s.port, flowId: s.flowId };
  }

  /**
   * Digest-authenticate a request (REGISTER: 401/WWW-Authenticate; others with proxy=true:
   * 407/Proxy-Authenticate). Resolves with the user name, or undefined after sending the challenge
   * or 403.
   */
  async authenticate(req: SipRequest, res: SipServerResponse, proxy = false): Promise<string | undefined> {
    if (!this.credentials) {
      res.send(403, { reason: 'Forbidden - no credentials configured' });
      return undefined;
    }
    const header = req.getAll(proxy ? 'proxy-authorization' : 'authorization').find((h) => h.includes(`realm="${this.realm}"`)) ?? req.get(proxy ? 'proxy-authorization' : 'authorization');
    const r = await this.digest.verify(header, req.method, this.credentials);
    if (r.ok) return r.username;
    if (r.reason === 'unknown-user' || r.reason === 'mismatch' || r.reason === 'missing' || r.reason === 'stale' || r.reason === 'realm' || r.reason === 'malformed') {
      if (r.reason === 'malformed') {
        res.send(400, { reason: 'Bad Request - malformed credentials' });
        return undefined;
      }
      const stale = r.reason === 'stale';
      const ua = req.get('user-agent') ?? '';
      const algs = this.md5OnlyUserAgents.some((re) => re.test(ua)) ? (['MD5'] as const) : undefined;
      res.send(proxy ? 407 : 401, { headers: { [proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate']: this.digest.challenges(stale, algs) } });
    }
    return undefined;
  }

  /**
   * Register with a carrier (outbound registration): REGISTER now, refresh at 80 % of the granted
   * expiry, `stop()` un-registers. Failures are retried after 30 s and reported via onState.
   */
  register(opts: {
    registrar: string;
    aor: string;
    auth?: Credentials;
    expires?: number;
    transport?: Transport;
    onState?: (state: 'registered' | 'failed', status: number) => void;
  }): { stop(): Promise<void>; readonly registered: boolean } {
    const callId = newCallId('reg');
    let cseq = 0;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    let registered = false;
    let stopped = false;
    const once = async (expires: number): Promise<SipResponse> => {
      const t = opts.transport ?? 'udp';
      const res = await this.request(opts.registrar, {
        method: 'REGISTER',
        from: `<${opts.aor}>`,
        to: `<${opts.aor}>`,
        callId,
        cseq: ++cseq,
        headers: { Contact: this.contactFor(t), Expires: String(expires) },
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
        this.log.warn({ err: String(err), registrar: opts.registrar }, 'outbound REGISTER failed');
        res = new SipResponse(503, 'Service Unavailable');
      }
      if (stopped) return;
      if (res.status >= 200 && res.status < 300) {
        registered = true;
        const granted = Number(res.get('expires') ?? /expires=(\d+)/.exec(res.get('contact') ?? '')?.[1] ?? want) || want;
        opts.onState?.('registered', res.status);
        timer = this.clock.setTimeout(() => void cycle(), Math.max(5, granted * 0.8) * 1000);
      } else {
        registered = false;
        opts.onState?.('failed', res.status);
        timer = this.clock.setTimeout(() => void cycle(), 30_000);
      }
    };
    void cycle();
    return {
      get registered() {
        return registered;
      },
      stop: async () => {
        stopped = true;
        if (timer) this.clock.clearTimeout(timer);
        if (registered) {
          registered = false;
          await once(0).catch(() => undefined);
        }
      },
    };
  }

  // ---------------------------------------------------------------- receiving

  private onMessage(msg: SipMessage): void {
    const src = msg.source!;
    const kind = msg instanceof SipRequest ? msg.method : kindOf(false, (msg as SipResponse).status);
    sipMetrics.received.inc({ kind, transport: src.transport });
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug({ callId: msg.callId, dir: 'in', transport: src.transport, remote: `${src.address}:${src.port}`, line: msg.startLine() }, 'sip in');
      this.log.trace({ callId: msg.callId, msg: msg.toString() }, 'sip in (full)');
    }
    try {
      this.transactions.receive(msg);
    } catch (err) {
      this.log.error({ err, callId: msg.callId }, 'sip message handling failed');
    }
  }

  private onMalformed(r: ParseResult, src: Source): void {
    if (r.ok) return;
    sipMetrics.malformed.inc();
    this.log.info({ transport: src.transport, remote: `${src.address}:${src.port}`, err: r.error }, 'malformed sip message');
    const req = r.partial;
    if (!req || req.method === 'ACK') return;
    // §8.2.6 needs Via, From, To, Call-ID and CSeq to form a response at all.
    if (!req.has('via') || !req.has('from') || !req.has('to') || !req.has('call-id') || !req.has('cseq') || !req.topVia) return;
    req.source = src;
    const res = makeResponse(req, r.status, `${REASONS[r.status] ?? REASONS[400]} - ${r.error}`);
    const dest = responseDestination(req);
    if (dest) this.sendRaw(res, res.serialize(), dest);
  }

  private readonly tu: TransactionUser = {
    onRequest: (req, st) => this.onRequest(req, st),
    onCancel: (invite) => {
      const res = this.responses.get(invite);
      if (!res) {
        invite.respond(makeResponse(invite.request, 487, undefined, newTag()));
        return;
      }
      res.cancelled = true;
      if (!res.finalSent) res.send(487);
      res.emit('cancel', invite.request);
    },
    onStrayResponse: (res) => {
      // A retransmitted 2xx after our INVITE transaction ended: re-ACK from the dialog (§13.2.2.4).
      if (res.cseq.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
      const d = this.dialogs.get(Dialog.idOfResponse(res));
      const ack = d?.ackFor(res.cseq.seq);
      if (d && ack) this.sendRaw(new SipRequest('ACK', d.remoteTarget), ack.data, ack.dest);
    },
  };

  private onRequest(req: SipRequest, st: ServerTransaction | undefined): void {
    if (!st) {
      // ACK for a 2xx: belongs to the dialog.
      const d = this.dialogs.get(Dialog.idOfRequest(req));
      d?.receiveAck(req);
      return;
    }
    const toTag = req.toTag;
    if (toTag !== undefined) {
      const d = this.dialogs.get(Dialog.idOfRequest(req));
      if (!d || d.state === 'terminated') {
        st.respond(makeResponse(req, 481));
        return;
      }
      if (!d.acceptRemoteSeq(req.cseq.seq)) {
        st.respond(makeResponse(req, 500, 'Server Internal Error - CSeq out of order'));
        return;
      }
      const res = new SipServerResponse(this, req, st, d);
      this.responses.set(st, res);
      try {
        d.dispatch(req, res);
      } catch (err) {
        this.log.error({ err, callId: req.callId }, 'in-dialog handler failed');
        if (!res.finalSent) res.send(500);
      }
      return;
    }
    const res = new SipServerResponse(this, req, st);
    this.responses.set(st, res);
    const mf = req.get('max-forwards');
    if (mf !== undefined && Number(mf) === 0 && req.method !== 'OPTIONS') {
      res.send(483);
      return;
    }
    const require = req.getAll('require').filter((o) => !['outbound', 'path', 'replaces', 'timer'].includes(o.toLowerCase()));
    if (require.length && req.method !== 'CANCEL') {
      res.send(420, { headers: { Unsupported: require.join(', ') } });
      return;
    }
    if (req.method === 'INVITE' && negotiateUas(req).kind === 'too-small') {
      res.send(422, { reason: 'Session Interval Too Small', headers: { 'Min-SE': String(MIN_SE) } });
      return;
    }
    const event = req.method.toLowerCase();
    try {
      if (req.method === 'REGISTER' && this.registrar) {
        this.registrar.handle(req, res).catch((err: unknown) => {
          this.log.error({ err, callId: req.callId }, 'registrar failed');
          if (!res.finalSent) res.send(500);
        });
        return;
      }
      if (this.listenerCount(event) > 0) {
        this.emit(event, req, res);
        return;
      }
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
      this.log.error({ err, callId: req.callId }, 'request handler failed');
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

const KNOWN_METHODS = new Set(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'INFO', 'REFER', 'NOTIFY', 'SUBSCRIBE', 'MESSAGE', 'UPDATE', 'PRACK', 'PUBLISH']);

export { RELIABLE };
