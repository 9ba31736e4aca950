/**
 * The transaction layer (RFC 3261 §17, with the Accepted states of RFC 6026): INVITE and
 * non-INVITE, client and server, timers A–M on an injected Clock.
 *
 *   Client INVITE   Calling -> Proceeding -> Completed (ACK, Timer D) | Accepted (Timer M)
 *   Client non-INV  Trying -> Proceeding -> Completed (Timer K)
 *   Server INVITE   Proceeding -> Completed (Timers G, H) -> Confirmed (Timer I) | Accepted (Timer L)
 *   Server non-INV  Trying -> Proceeding -> Completed (Timer J)
 *
 * Over reliable transports A, E, G are not run and D, I, J, K are zero (§17.1.1.2 etc.).
 *
 * A server transaction whose TU is done with it (Accepted, Completed non-INVITE, Confirmed) only
 * absorbs retransmissions until Timer L, J or I: from then on the layer keeps a small Linger record
 * (the final response's bytes and where to send them) instead of the transaction with its parsed
 * request and response, and expires records from one queue per duration instead of a timer each.
 * At thousands of calls a second over UDP that is the state held for 32 s after every call.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import { SipRequest, SipResponse, makeResponse, type SipMessage } from './message.ts';
import { RELIABLE, responseDestination, type Destination } from './transport.ts';
import { MAGIC_COOKIE, parseVia } from './via.ts';
import { sipMetrics } from './metrics.ts';

export interface Timers {
  T1: number;
  T2: number;
  T4: number;
}
export const DEFAULT_TIMERS: Timers = { T1: 500, T2: 4000, T4: 5000 };

/** What the transaction layer needs from the transport: send bytes, fail on transport error. */
export interface Sender {
  send(msg: SipMessage, data: Buffer, dest: Destination): Promise<void>;
}

export interface TransactionUser {
  /** A request that matched no transaction. `st` is undefined for ACK (a 2xx ACK is its own thing). */
  onRequest(req: SipRequest, st: ServerTransaction | undefined): void;
  /** A CANCEL matched a pending INVITE server transaction (200 to the CANCEL is already sent). */
  onCancel(invite: ServerTransaction, cancel: SipRequest): void;
  /** A response that matched no client transaction (e.g. a 2xx retransmission after Timer M). */
  onStrayResponse(res: SipResponse): void;
}

export interface ClientHandlers {
  onResponse(res: SipResponse, tx: ClientTransaction): void;
  /** Timer B or F fired: treat as 408 (§8.1.3.1). */
  onTimeout(tx: ClientTransaction): void;
  /** The transport failed: treat as 503 (§8.1.3.1). */
  onTransportError(err: Error, tx: ClientTransaction): void;
}

const EMPTY = Buffer.alloc(0);

type ClientState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'accepted' | 'terminated';
type ServerState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

function txKey(branch: string, method: string): string {
  return `${branch}|${method === 'ACK' ? 'INVITE' : method}`;
}

/**
 * What is left of a server transaction after its TU is done with it: Accepted (an INVITE answered
 * 2xx, Timer L), Completed (a non-INVITE answered, Timer J: the final is resent for each
 * retransmitted request) or Confirmed (the ACK for a non-2xx came, Timer I).
 */
interface Linger {
  readonly key: string;
  readonly state: 'accepted' | 'completed' | 'confirmed';
  readonly expires: number;
  /** Completed: the final response's bytes, its status (for the metrics) and where it went. */
  readonly data?: Buffer;
  readonly status?: number;
  readonly dest?: Destination;
}

/** Lingers of one duration, in expiry order (a constant duration keeps arrival order), one timer for the head. */
class ExpiryQueue {
  private items: (Linger | undefined)[] = [];
  private head = 0;
  private timer?: TimerHandle;

  constructor(
    private readonly clock: Clock,
    readonly ms: number,
    private readonly expire: (l: Linger) => void,
  ) {}

  push(l: Linger): void {
    this.items.push(l);
    if (!this.timer) this.arm();
  }

  private arm(): void {
    const next = this.items[this.head];
    if (!next) {
      this.items = [];
      this.head = 0;
      return;
    }
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, next.expires - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    while (this.head < this.items.length && this.items[this.head]!.expires <= now) {
      const l = this.items[this.head]!;
      this.items[this.head++] = undefined;
      this.expire(l);
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }

  clear(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.head = 0;
  }
}

/**
 * The bytes in a buffer of their own. A small Buffer is a view on Node's shared 8 KB pool slab, so
 * keeping a 400-byte response for 32 s would keep the whole slab (and everything serialized next to
 * it) alive: measured 2.1-2.4 KB of ArrayBuffers per call that way, outside the JS heap.
 */
export function ownBytes(b: Buffer): Buffer {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return b;
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}

/** A copy of a string that does not keep the message text it was sliced from alive. */
function flat(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

/** A destination to keep a while: its own strings, not slices of the message it was read from. */
export function ownDestination(d: Destination): Destination {
  return { transport: d.transport, address: flat(d.address), port: d.port, ...(d.flowId ? { flowId: flat(d.flowId) } : {}) };
}

export class ClientTransaction {
  state: ClientState;
  readonly isInvite: boolean;
  readonly key: string;
  readonly reliable: boolean;
  private data: Buffer;
  private retransmitTimer?: TimerHandle; // A or E
  private timeoutTimer?: TimerHandle; // B or F
  private endTimer?: TimerHandle; // D, K or M
  private interval: number;
  private ackData?: Buffer;
  private ack?: SipRequest;
  lastResponse?: SipResponse;

  constructor(
    private readonly layer: TransactionLayer,
    readonly request: SipRequest,
    readonly branch: string,
    readonly dest: Destination,
    private readonly handlers: ClientHandlers,
  ) {
    this.isInvite = request.method === 'INVITE';
    this.state = this.isInvite ? 'calling' : 'trying';
    this.key = txKey(branch, request.method);
    this.reliable = RELIABLE[dest.transport];
    this.data = request.serialize();
    this.interval = layer.timers.T1;
  }

  start(): void {
    const { clock, timers } = this.layer;
    this.transmit(false);
    if (!this.reliable) this.retransmitTimer = clock.setTimeout(() => this.onRetransmit(), this.interval);
    this.timeoutTimer = clock.setTimeout(() => this.onTimeout(), 64 * timers.T1);
  }

  private transmit(retransmission: boolean): void {
    if (retransmission) sipMetrics.retransmissions.inc({ timer: this.isInvite ? 'A' : 'E' });
    this.layer.sender.send(this.request, this.data, this.dest).catch((err: unknown) => {
      if (this.state === 'terminated') return;
      this.terminate();
      this.handlers.onTransportError(err instanceof Error ? err : new Error(String(err)), this);
    });
  }

  private onRetransmit(): void {
    this.retransmitTimer = undefined;
    const inTryingOrCalling = this.state === 'calling' || this.state === 'trying';
    if (!inTryingOrCalling && !(this.state === 'proceeding' && !this.isInvite)) return;
    this.transmit(true);
    // Timer A doubles without cap (§17.1.1.2); Timer E caps at T2, and is T2 in Proceeding.
    if (this.isInvite) this.interval *= 2;
    else this.interval = this.state === 'proceeding' ? this.layer.timers.T2 : Math.min(this.interval * 2, this.layer.timers.T2);
    this.retransmitTimer = this.layer.clock.setTimeout(() => this.onRetransmit(), this.interval);
  }

  private onTimeout(): void {
    this.timeoutTimer = undefined;
    // Timer B only matters in Calling (§17.1.1.2); Timer F in Trying and Proceeding.
    if (this.state === 'calling' || this.state === 'trying' || (!this.isInvite && this.state === 'proceeding')) {
      sipMetrics.timeouts.inc({ timer: this.isInvite ? 'B' : 'F' });
      this.terminate();
      this.handlers.onTimeout(this);
    }
  }

  receive(res: SipResponse): void {
    const { clock, timers } = this.layer;
    const s = res.status;
    switch (this.state) {
      case 'calling':
      case 'trying':
      case 'proceeding':
        this.lastResponse = res;
        if (s < 200) {
          if (this.state === 'calling') {
            this.clearRetransmit();
          } else if (this.state === 'trying' && !this.reliable) {
            // Timer E continues in Proceeding, at T2.
          }
          this.state = 'proceeding';
          this.handlers.onResponse(res, this);
          return;
        }
        this.clearRetransmit();
        this.clearTimeout();
        this.data = EMPTY; // nothing is retransmitted after a final response
        if (this.isInvite) {
          if (s < 300) {
            // RFC 6026: Accepted absorbs nothing but lets further 2xx (forks) reach the TU.
            this.state = 'accepted';
            this.endTimer = clock.setTimeout(() => this.terminate(), 64 * timers.T1);
          } else {
            this.state = 'completed';
            this.sendAck(res);
            if (this.reliable) this.terminate();
            else this.endTimer = clock.setTimeout(() => this.terminate(), 32_000);
          }
        } else {
          this.state = 'completed';
          if (this.reliable) this.terminate();
          else this.endTimer = clock.setTimeout(() => this.terminate(), timers.T4);
        }
        this.handlers.onResponse(res, this);
        return;
      case 'completed':
        // Retransmitted final: re-ACK for INVITE, absorb for non-INVITE.
        sipMetrics.absorbed.inc();
        if (this.isInvite && this.ack && this.ackData) this.layer.sender.send(this.ack, this.ackData, this.dest).catch(() => {});
        return;
      case 'accepted':
        if (s >= 200 && s < 300) this.handlers.onResponse(res, this);
        return;
      default:
        return;
    }
  }

  /** §17.1.1.3: ACK for a non-2xx final, same branch, inside the transaction. */
  private sendAck(res: SipResponse): void {
    const ack = new SipRequest('ACK', this.request.uri);
    const via = this.request.get('via');
    if (via !== undefined) ack.set('via', via);
    for (const h of ['from', 'call-id', 'route', 'max-forwards']) {
      const v = this.request.headers.get(h);
      if (v) ack.headers.set(h, [...v]);
    }
    const to = res.get('to');
    if (to !== undefined) ack.set('to', to);
    ack.set('cseq', `${this.request.cseq.seq} ACK`);
    this.ack = ack;
    this.ackData = ack.serialize();
    this.layer.sender.send(ack, this.ackData, this.dest).catch(() => {});
  }

  private clearRetransmit(): void {
    if (this.retransmitTimer) this.layer.clock.clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
  }
  private clearTimeout(): void {
    if (this.timeoutTimer) this.layer.clock.clearTimeout(this.timeoutTimer);
    this.timeoutTimer = undefined;
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.clearRetransmit();
    this.clearTimeout();
    if (this.endTimer) this.layer.clock.clearTimeout(this.endTimer);
    this.layer.removeClient(this);
  }
}

export class ServerTransaction {
  state: ServerState;
  readonly isInvite: boolean;
  readonly key: string;
  readonly reliable: boolean;
  readonly dest: Destination | undefined;
  lastResponse?: SipResponse;
  private lastData?: Buffer;
  private trying?: TimerHandle;
  private gTimer?: TimerHandle;
  private hTimer?: TimerHandle;
  private endTimer?: TimerHandle;
  private interval: number;
  /** Called when Timer H fires (no ACK for our non-2xx final). */
  onAckTimeout?: () => void;
  /** Set once a CANCEL matched this INVITE. */
  cancelled = false;

  constructor(
    private readonly layer: TransactionLayer,
    readonly request: SipRequest,
    readonly branch: string,
  ) {
    this.isInvite = request.method === 'INVITE';
    this.state = this.isInvite ? 'proceeding' : 'trying';
    this.key = txKey(branch, request.method);
    this.dest = responseDestination(request);
    this.reliable = request.source ? RELIABLE[request.source.transport] : false;
    this.interval = layer.timers.T1;
    if (this.isInvite) {
      // §17.2.1: send 100 Trying if the TU has not answered within 200 ms.
      this.trying = layer.clock.setTimeout(() => {
        this.trying = undefined;
        if (this.state === 'proceeding' && !this.lastResponse) this.respond(makeTrying(request));
      }, 200);
    } else {
      // The client gives up at Timer F (64*T1); an application that never answers must not leak
      // the transaction, so answer 408 then. (INVITEs may legitimately wait in a queue.)
      this.endTimer = layer.clock.setTimeout(() => {
        this.endTimer = undefined;
        if (this.state === 'trying' || this.state === 'proceeding') {
          layer.log.warn({ callId: request.callId, method: request.method }, 'no response from the application; answering 408');
          this.respond(makeResponse(request, 408));
        }
      }, 64 * layer.timers.T1);
    }
  }

  /** Send a response through the transaction (the TU's only way to answer). */
  respond(res: SipResponse): void {
    if (this.state === 'terminated' || this.state === 'completed' || this.state === 'confirmed') return;
    if (this.state === 'accepted') {
      // TU retransmissions of the 2xx pass straight through (RFC 6026 §7.1).
      if (res.status >= 200 && res.status < 300) this.transmit(res);
      return;
    }
    if (this.trying) {
      this.layer.clock.clearTimeout(this.trying);
      this.trying = undefined;
    }
    if (!this.isInvite && res.status >= 200 && this.endTimer) {
      this.layer.clock.clearTimeout(this.endTimer);
      this.endTimer = undefined;
    }
    this.lastResponse = res;
    const { clock, timers } = this.layer;
    const s = res.status;
    this.lastData = res.serialize();
    this.transmit(res, this.lastData);
    if (s < 200) {
      this.state = 'proceeding';
      return;
    }
    if (this.isInvite) {
      if (s < 300) {
        // Accepted until Timer L: the layer keeps a Linger; 2xx retransmissions are the TU's (the dialog's).
        this.state = 'accepted';
        this.lastResponse = undefined;
        this.lastData = undefined;
        this.layer.linger(this, 'accepted');
      } else {
        this.state = 'completed';
        if (!this.reliable) this.gTimer = clock.setTimeout(() => this.onG(), this.interval);
        this.hTimer = clock.setTimeout(() => this.onH(), 64 * timers.T1);
      }
    } else {
      this.state = 'completed';
      if (this.reliable) this.terminate();
      else this.layer.linger(this, 'completed', this.lastData, s);
    }
  }

  private transmit(res: SipResponse, data?: Buffer): void {
    if (!this.dest) return;
    this.layer.sender.send(res, data ?? res.serialize(), this.dest).catch((err: unknown) => {
      // §17.2.4: a transport failure on a response ends the transaction; for INVITE also tell the TU.
      this.layer.log.debug({ err: String(err), callId: this.request.callId }, 'response send failed');
      if (this.state !== 'terminated' && this.state !== 'accepted') this.terminate();
    });
  }

  private onG(): void {
    this.gTimer = undefined;
    if (this.state !== 'completed' || !this.lastResponse) return;
    sipMetrics.retransmissions.inc({ timer: 'G' });
    this.transmit(this.lastResponse, this.lastData);
    this.interval = Math.min(this.interval * 2, this.layer.timers.T2);
    this.gTimer = this.layer.clock.setTimeout(() => this.onG(), this.interval);
  }

  private onH(): void {
    this.hTimer = undefined;
    if (this.state !== 'completed') return;
    sipMetrics.timeouts.inc({ timer: 'H' });
    this.terminate();
    this.onAckTimeout?.();
  }

  /** A retransmission of the request (or ACK for our non-2xx). */
  receive(req: SipRequest): void {
    if (req.method === 'ACK') {
      if (this.state === 'completed') {
        this.state = 'confirmed';
        if (this.gTimer) this.layer.clock.clearTimeout(this.gTimer);
        if (this.hTimer) this.layer.clock.clearTimeout(this.hTimer);
        if (this.reliable) this.terminate();
        else this.layer.linger(this, 'confirmed');
      } else if (this.state === 'accepted') {
        // An ACK for a 2xx that reused the INVITE branch (RFC 2543 peers): it belongs to the TU.
        this.layer.tu?.onRequest(req, undefined);
      }
      return;
    }
    sipMetrics.absorbed.inc();
    if ((this.state === 'proceeding' || this.state === 'completed') && this.lastResponse) {
      this.transmit(this.lastResponse, this.lastData);
    }
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.releaseTimers();
    this.layer.removeServer(this);
  }

  /** @internal Stop every timer (terminating, or handing over to a Linger). */
  releaseTimers(): void {
    for (const t of [this.trying, this.gTimer, this.hTimer, this.endTimer]) if (t) this.layer.clock.clearTimeout(t);
    this.trying = this.gTimer = this.hTimer = this.endTimer = undefined;
  }
}

function makeTrying(req: SipRequest): SipResponse {
  const res = new SipResponse(100, 'Trying');
  for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) {
    const v = req.headers.get(h);
    if (v) res.headers.set(h, [...v]);
  }
  const ts = req.get('timestamp');
  if (ts !== undefined) res.set('timestamp', ts);
  return res;
}

/** Branch for transaction matching; RFC 2543 peers without the magic cookie get a synthetic one. */
function branchOf(msg: SipMessage): string | undefined {
  const top = msg.get('via');
  if (top === undefined) return undefined;
  const via = parseVia(top);
  if (!via) return undefined;
  const b = via.params.get('branch');
  const sentBy = `${via.host}:${via.port ?? ''}`;
  if (b && b.startsWith(MAGIC_COOKIE)) return msg.isRequest ? `${b}|${sentBy}` : b;
  const tag = msg.fromTag ?? '';
  return `2543|${msg.callId}|${msg.cseq.seq}|${tag}|${sentBy}|${b ?? ''}`;
}

export class TransactionLayer {
  private readonly clients = new Map<string, ClientTransaction>();
  /** Live server transactions, and the Lingers of those whose TU is done. */
  private readonly servers = new Map<string, ServerTransaction | Linger>();
  /** Timer L and J (64*T1), Timer I (T4). */
  private readonly long: ExpiryQueue;
  private readonly short: ExpiryQueue;
  tu?: TransactionUser;

  constructor(
    readonly clock: Clock,
    readonly sender: Sender,
    readonly log: Logger,
    readonly timers: Timers = DEFAULT_TIMERS,
  ) {
    const expire = (l: Linger): void => {
      if (this.servers.get(l.key) !== l) return;
      this.servers.delete(l.key);
      sipMetrics.transactions.dec({ side: 'server' });
    };
    this.long = new ExpiryQueue(clock, 64 * timers.T1, expire);
    this.short = new ExpiryQueue(clock, timers.T4, expire);
  }

  /**
   * @internal A server transaction's TU is done with it: keep only what absorbs retransmissions
   * (Accepted: Timer L, Completed non-INVITE: Timer J, Confirmed: Timer I) and let the rest go.
   */
  linger(st: ServerTransaction, state: Linger['state'], data?: Buffer, status?: number): void {
    if (this.servers.get(st.key) !== st) return;
    st.releaseTimers();
    const queue = state === 'confirmed' ? this.short : this.long;
    const d = st.dest;
    // The key is a concatenation over a slice of the request's header text: kept for 64*T1 it would
    // pin that whole text (≈ 400 bytes a message, half of what an ended call kept). A flat copy,
    // and a new map entry, since Map.set on an existing key keeps the key it was first set with.
    const key = flat(st.key);
    const l: Linger = {
      key,
      state,
      expires: this.clock.now() + queue.ms,
      ...(data && d ? { data: ownBytes(data), status, dest: ownDestination(d) } : {}),
    };
    this.servers.delete(st.key);
    this.servers.set(key, l);
    queue.push(l);
  }

  /** A request that matched a Linger: absorb it (resending a non-INVITE's final); an ACK for Accepted goes to the TU. */
  private absorb(l: Linger, req: SipRequest): void {
    if (req.method === 'ACK') {
      // An ACK for a 2xx that reused the INVITE branch (RFC 2543 peers): it belongs to the TU.
      if (l.state === 'accepted') this.tu?.onRequest(req, undefined);
      return;
    }
    sipMetrics.absorbed.inc();
    if (l.state === 'completed' && l.data && l.dest) {
      this.sender.send(new SipResponse(l.status ?? 200, ''), l.data, l.dest).catch(() => undefined);
    }
  }

  get clientCount(): number {
    return this.clients.size;
  }
  get serverCount(): number {
    return this.servers.size;
  }

  /** Start a client transaction. The request's top Via must carry a fresh branch. */
  request(req: SipRequest, dest: Destination, handlers: ClientHandlers): ClientTransaction {
    const via = req.topVia;
    const branch = via?.params.get('branch');
    if (!branch) throw new Error('client request without a Via branch');
    const tx = new ClientTransaction(this, req, branch, dest, handlers);
    this.clients.set(tx.key, tx);
    sipMetrics.transactions.inc({ side: 'client' });
    tx.start();
    return tx;
  }

  /** Feed every parsed message from the transport here. */
  receive(msg: SipMessage): void {
    if (msg instanceof SipResponse) {
      const b = branchOf(msg);
      const tx = b !== undefined ? this.clients.get(txKey(b, msg.cseq.method)) : undefined;
      if (tx) tx.receive(msg);
      else this.tu?.onStrayResponse(msg);
      return;
    }
    const req = msg as SipRequest;
    const b = branchOf(req);
    if (b === undefined) return;
    const existing = this.servers.get(txKey(b, req.method));
    if (existing instanceof ServerTransaction) {
      existing.receive(req);
      return;
    }
    if (existing) {
      this.absorb(existing, req);
      return;
    }
    if (req.method === 'ACK') {
      this.tu?.onRequest(req, undefined);
      return;
    }
    const st = new ServerTransaction(this, req, b);
    this.servers.set(st.key, st);
    sipMetrics.transactions.inc({ side: 'server' });
    if (req.method === 'CANCEL') {
      // §9.2: the CANCEL matches the INVITE with the same branch.
      const invite = this.servers.get(txKey(b, 'INVITE'));
      if (!invite || invite.state === 'terminated') {
        st.respond(makeResponse(req, 481));
        return;
      }
      st.respond(makeResponse(req, 200));
      if (invite instanceof ServerTransaction && invite.state === 'proceeding' && !invite.cancelled) {
        invite.cancelled = true;
        this.tu?.onCancel(invite, req);
      }
      return;
    }
    this.tu?.onRequest(req, st);
  }

  removeClient(tx: ClientTransaction): void {
    if (this.clients.get(tx.key) === tx) {
      this.clients.delete(tx.key);
      sipMetrics.transactions.dec({ side: 'client' });
    }
  }
  removeServer(tx: ServerTransaction): void {
    if (this.servers.get(tx.key) === tx) {
      this.servers.delete(tx.key);
      sipMetrics.transactions.dec({ side: 'server' });
    }
  }

  /** Terminate everything (shutdown). */
  clear(): void {
    for (const t of [...this.clients.values()]) t.terminate();
    for (const t of [...this.servers.values()]) if (t instanceof ServerTransaction) t.terminate();
    sipMetrics.transactions.dec({ side: 'server' }, this.servers.size);
    this.servers.clear();
    this.long.clear();
    this.short.clear();
  }
}
