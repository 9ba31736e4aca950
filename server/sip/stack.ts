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
 * Events (typed by SipStackEvents): 'invite' (req, res), 'options' | 'message' | 'subscribe' |
 * 'notify' | 'refer' | 'info' | 'publish' (req, res) out of dialog, 'registered' / 'unregistered'
 * (Binding). A request listener that throws or rejects before answering gets its request answered
 * 500 (RequestEmitter).
 *
 * The work is done by parts that know only the small host interface they are given: the UAC
 * (uac.ts), the UAS (uas.ts), dialogs (dialog.ts), the registrar (registrar.ts), outbound
 * registration (registration.ts) and digest authentication (authentication.ts).
 */
import { SystemClock, type Clock } from '../../lib/clock.ts';
import { log as rootLog, type Logger } from '../../lib/log.ts';
import { SipRequest, type RequestOptions, type SipMessage, type SipResponse, type Source, type Transport } from './message.ts';
import { DEFAULT_LIMITS, type ParseLimits, type ParseResult } from './parser.ts';
import { TransportLayer, type Destination } from './transport.ts';
import { TransactionLayer, DEFAULT_TIMERS, ownBytes, ownDestination, type Timers } from './transaction.ts';
import type { Dialog, DialogHost } from './dialog.ts';
import { RequestEmitter, SipServerResponse, type ResponseHost } from './server-response.ts';
import { DigestServer } from './digest.ts';
import { Authenticator, type CredentialLookup } from './authentication.ts';
import { MemoryLocationStore, type Binding, type LocationStore } from './location.ts';
import { Registrar, type RegistrarOptions } from './registrar.ts';
import { register, type OutboundRegistration, type RegistrationOptions } from './registration.ts';
import { UserAgentClient, type OutOfDialogRequest, type UacOptions } from './uac.ts';
import { UserAgentServer } from './uas.ts';
import { listenUdp, type UdpOptions } from './udp.ts';
import { listenTcp, listenTls, type TcpOptions, type TlsOptions } from './tcp.ts';
import { listenWs, type WsOptions } from './websocket.ts';
import { parseNameAddr, parseUri, aorOf, type SipUri } from './uri.ts';
import { sipMetrics, kindOf } from './metrics.ts';
import { SipGuard, type SipLimitOptions } from './limits.ts';

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
  /**
   * Secret lookup for digest (agents, trunks): a clear password, `{ ha1: { MD5?, 'SHA-256'? } }`
   * (hex HA1 for this realm), or a list of these, any of which is accepted.
   */
  credentials?: CredentialLookup;
  location?: LocationStore;
  /** false disables the built-in registrar (REGISTER then goes to a 'register' listener or 405). */
  registrar?: boolean | RegistrarOptions;
  timers?: Partial<Timers>;
  limits?: Partial<ParseLimits>;
  /**
   * Flood and guessing limits (limits.ts): per-source message rate, connections per source,
   * lockout after failed digests. On by default with DEFAULT_SIP_LIMITS; false turns them off
   * (a benchmark driving the stack from one address).
   */
  guard?: Partial<SipLimitOptions> | false;
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

/** An out-of-dialog request for the application to answer. */
type RequestEvent = [req: SipRequest, res: SipServerResponse];

export type SipStackEvents = {
  invite: RequestEvent;
  options: RequestEvent;
  message: RequestEvent;
  subscribe: RequestEvent;
  notify: RequestEvent;
  refer: RequestEvent;
  info: RequestEvent;
  publish: RequestEvent;
  update: RequestEvent;
  prack: RequestEvent;
  bye: RequestEvent;
  /** REGISTER, when the built-in registrar is disabled. */
  register: RequestEvent;
  /**
   * A contact was bound by the registrar; `refresh` when it renews a binding of the same
   * registration (same contact and Call-ID, RFC 3261 §10.2.4), not a new one.
   */
  registered: [binding: Binding, refresh: boolean];
  /** A binding was removed, expired, or lost with its flow. */
  unregistered: [binding: Binding];
};
/** Events named after the method of the request they carry. */
type MethodEvent = Exclude<keyof SipStackEvents, 'registered' | 'unregistered'>;

export class SipStack extends RequestEmitter<SipStackEvents> implements ResponseHost {
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
  /** The flood and guessing limits; `guard.configure()` changes them while running. */
  readonly guard: SipGuard | undefined;
  private readonly dialogs = new Map<string, Dialog>();
  /** Ended dialogs' ACKs for 2xx by dialog id: their compact tombstones (retireDialog). */
  private readonly endedAcks = new Map<string, ReadonlyMap<number, { data: Buffer; dest: Destination }>>();
  private readonly auth: Authenticator;
  private readonly uac: UserAgentClient;
  private readonly uas: UserAgentServer;
  private sweepTimer?: ReturnType<Clock['setTimeout']>;
  private closed = false;

  constructor(opts: SipStackOptions = {}) {
    super();
    this.clock = opts.clock ?? new SystemClock();
    this.log = opts.log ?? rootLog.child({ mod: 'sip' });
    this.timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.realm = opts.realm ?? 'callcentre';
    this.userAgent = opts.userAgent ?? 'callcentre';
    this.contactUser = opts.contactUser ?? 'cc';
    this.transport = new TransportLayer(this.log, { ...DEFAULT_LIMITS, ...opts.limits });
    this.transactions = new TransactionLayer(
      this.clock,
      { send: (msg, data, dest) => this.sendData(msg, data, dest) },
      this.log,
      this.timers,
    );
    if (opts.guard !== false) {
      this.guard = new SipGuard(this.clock, this.log, opts.guard ?? {});
      this.transport.guard = this.guard;
    }
    this.digest = new DigestServer(this.realm, this.clock, opts.digestAlgorithms);
    this.auth = new Authenticator(this.digest, opts.credentials, opts.md5OnlyUserAgents ?? [/^baresip v[01]\./i], this.guard);
    this.location = opts.location ?? new MemoryLocationStore(this.clock);
    if (opts.registrar !== false) {
      this.registrar = new Registrar(
        {
          clock: this.clock,
          authenticate: (req, res) => this.authenticate(req, res),
          registered: (b, refresh) => {
            this.rebindDialogs(b);
            this.emit('registered', b, refresh);
          },
          unregistered: (b) => this.emit('unregistered', b),
        },
        this.location,
        typeof opts.registrar === 'object' ? opts.registrar : {},
      );
    }
    const dialogHost: DialogHost = {
      clock: this.clock,
      log: this.log,
      timers: this.timers,
      sendRequestInDialog: (d, req, nextHop) => this.uac.sendRequestInDialog(d, req, nextHop),
      sendReinvite: (d, req, nextHop) => this.uac.sendReinvite(d, req, nextHop),
      sendRaw: (msg, data, dest) => this.sendRaw(msg, data, dest),
      retireDialog: (d) => this.retireDialog(d),
    };
    const sendRaw = (msg: SipMessage, data: Buffer, dest: Destination): void => this.sendRaw(msg, data, dest);
    const endedAck = (id: string, cseq: number): { data: Buffer; dest: Destination } | undefined => this.endedAcks.get(id)?.get(cseq);
    this.uac = new UserAgentClient({
      clock: this.clock,
      log: this.log,
      transport: this.transport,
      transactions: this.transactions,
      userAgent: this.userAgent,
      contactUser: this.contactUser,
      dialogs: this.dialogs,
      dialogHost,
      contactFor: (t) => this.contactFor(t),
      sendRaw,
      endedAck,
    });
    this.uas = new UserAgentServer({
      log: this.log,
      dialogs: this.dialogs,
      dialogHost,
      responseHost: this,
      registrar: this.registrar,
      sendRaw,
      endedAck,
      deliver: (method, req, res) => {
        // Any method is looked up by its name; one outside SipStackEvents has no listener unless
        // added with a cast, and then gets the default answer (405/501).
        const event = method as MethodEvent;
        if (this.listenerCount(event) === 0) return false;
        this.emit(event, req, res);
        return true;
      },
    });
    this.transactions.tu = this.uas;
    this.transport.on('message', (msg: SipMessage) => this.onMessage(msg));
    this.transport.on('malformed', (r: ParseResult, src: Source) => this.uas.onMalformed(r, src));
    this.transport.on('flowClosed', (flowId: string) => {
      void this.location
        .removeFlow(flowId)
        .then(async (gone) => {
          for (const b of gone) this.emit('unregistered', b);
          if (gone.length) sipMetrics.registrations.set(await this.location.count());
        })
        .catch((err: unknown) => this.log.warn({ err }, 'location removeFlow failed'));
      // A browser's WebSocket is its only signalling path (its Contact is *.invalid): when it
      // closes, its calls can no longer be controlled, so they end here ('flow-closed') — unless
      // the dialog's owner waits for the browser to register again (Dialog.loseFlow).
      if (isWsFlow(flowId)) {
        for (const d of [...this.dialogs.values()]) {
          if (d.flowId === flowId && d.state !== 'terminated') d.loseFlow();
        }
      }
    });
  }

  protected get eventLog(): Logger {
    return this.log;
  }

  /**
   * A browser registered (again) on a WebSocket: its dialogs still bound to a WebSocket that has
   * closed follow it to the new one when their remote target is the contact it registered, so a
   * call survives a reconnect (the RFC 5626 idea: a contact is reached over the flow it last
   * registered on). The REGISTER was digest-authenticated, and only the dialog's own party may
   * take it: the registered AOR's user (the authenticated user, the registrar checks they are the
   * same) must be the dialog's remote party (its To as UAC, its From as UAS) — another agent who
   * learned the contact (sip.js: a random user at a random .invalid host, kept across reconnects)
   * cannot move someone else's call onto their WebSocket. Without digest on REGISTER, nothing moves.
   */
  private rebindDialogs(b: Binding): void {
    const flowId = b.source.flowId;
    if (!flowId || !isWsFlow(flowId) || !this.registrar?.requireAuth) return;
    const contact = parseUri(b.contact);
    const user = parseUri(b.aor)?.user;
    if (!contact || user === undefined) return;
    for (const d of this.dialogs.values()) {
      if (d.state === 'terminated' || d.flowId === undefined || d.flowId === flowId || !isWsFlow(d.flowId)) continue;
      const old = this.transport.flows.get(d.flowId);
      if (old && !old.closed) continue;
      const target = parseUri(d.remoteTarget);
      if (!target || !sameContact(target, contact)) continue;
      const party = parseNameAddr(d.remoteUri)?.uri.user;
      if (party !== user) {
        this.log.warn({ callId: d.callId, registered: user, party }, "dialog not re-bound: the REGISTER's user is not the dialog's party");
        continue;
      }
      this.log.info({ callId: d.callId, from: d.flowId, to: flowId }, 'dialog re-bound to the new WebSocket');
      d.rebindFlow(flowId);
    }
  }

  async listen(opts: ListenOptions): Promise<void> {
    const arr = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    for (const o of arr(opts.udp)) await listenUdp(this.transport, o);
    for (const o of arr(opts.tcp)) await listenTcp(this.transport, o);
    if (opts.tls) await listenTls(this.transport, opts.tls);
    if (opts.ws) await listenWs(this.transport, { ...opts.ws, secure: false });
    if (opts.wss) await listenWs(this.transport, { ...opts.wss, secure: true });
    if (this.registrar && !this.sweepTimer && !this.closed) this.scheduleSweep();
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

  /** Out-of-dialog non-INVITE request (OPTIONS ping, MESSAGE, REGISTER to a carrier). */
  request(target: string, opts: OutOfDialogRequest): Promise<SipResponse> {
    return this.uac.request(target, opts);
  }

  // ---------------------------------------------------------------- UAS / UAC

  /**
   * Answer an INVITE with 200 + SDP and build the dialog. Resolves when the ACK arrives; rejects
   * with SipError(487) if the caller CANCELled first, SipError(408) if no ACK came in 64*T1.
   */
  createUAS(req: SipRequest, res: SipServerResponse, opts: RequestOptions & { localSdp?: string } = {}): Promise<Dialog> {
    return this.uas.createUAS(req, res, opts);
  }

  /**
   * Place an outbound call. Resolves with the dialog on the first 2xx (ACK already sent); extra
   * 2xx from forks are ACKed and released with BYE. Rejects with SipError on failure; aborting
   * `signal` CANCELs (rejects immediately with SipError(487)).
   */
  createUAC(target: string, opts: UacOptions = {}): Promise<Dialog> {
    return this.uac.createUAC(target, opts);
  }

  /**
   * A dialog ended: forget it now — a request for it is answered 481 with or without it (§12.2.2),
   * and a retransmitted BYE is absorbed by its transaction. All an ended dialog still answers is a
   * retransmitted 2xx to our INVITE (the same ACK again, §13.2.2.4, for up to 64*T1), so only its
   * ACKs stay that long: a compact tombstone, not the dialog with its requests, SDP and listeners.
   */
  private retireDialog(d: Dialog): void {
    if (this.dialogs.get(d.id) === d) this.dialogs.delete(d.id);
    const sent = d.sentAcks;
    if (!sent || this.closed) return;
    // Copies, so the tombstone keeps neither the dialog's messages nor a shared Buffer pool slab.
    const acks = new Map([...sent].map(([seq, a]) => [seq, { data: ownBytes(a.data), dest: ownDestination(a.dest) }]));
    this.endedAcks.set(d.id, acks);
    this.clock.setTimeout(() => {
      if (this.endedAcks.get(d.id) === acks) this.endedAcks.delete(d.id);
    }, 64 * this.timers.T1);
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
  authenticate(req: SipRequest, res: SipServerResponse, proxy = false): Promise<string | undefined> {
    return this.auth.authenticate(req, res, proxy);
  }

  /**
   * Register with a carrier (outbound registration, registration.ts): REGISTER now, refresh at 80 %
   * of the granted expiry, retry failures with back-off, `stop()` un-registers. The state comes as
   * typed events ('state', 'registered', 'failed', 'unregistered') and the gauge
   * sip_trunk_registration_status{trunk}.
   */
  register(opts: RegistrationOptions): OutboundRegistration {
    return register(
      { clock: this.clock, log: this.log, contactFor: (t) => this.contactFor(t), request: (target, o) => this.request(target, o) },
      opts,
    );
  }

  // ---------------------------------------------------------------- receiving

  private onMessage(msg: SipMessage): void {
    const src = msg.source!;
    const kind = msg instanceof SipRequest ? msg.method : kindOf(false, (msg as SipResponse).status);
    sipMetrics.received.inc({ kind, transport: src.transport });
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug(
        { callId: msg.callId, dir: 'in', transport: src.transport, remote: `${src.address}:${src.port}`, line: msg.startLine() },
        'sip in',
      );
      this.log.trace({ callId: msg.callId, msg: msg.toString() }, 'sip in (full)');
    }
    try {
      this.transactions.receive(msg);
    } catch (err) {
      this.log.error({ err, callId: msg.callId }, 'sip message handling failed');
    }
  }
}

function isWsFlow(flowId: string): boolean {
  return flowId.startsWith('ws#') || flowId.startsWith('wss#');
}

/** The same contact: user, host and port (case-insensitive host, as URI comparison §19.1.4 says). */
function sameContact(a: SipUri, b: SipUri): boolean {
  return a.user === b.user && a.host.toLowerCase() === b.host.toLowerCase() && (a.port ?? 0) === (b.port ?? 0) && a.scheme === b.scheme;
}
