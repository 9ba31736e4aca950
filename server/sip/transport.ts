/**
 * The transport layer (RFC 3261 §18): owns the listening sockets and the connection table, turns
 * bytes into parsed messages stamped with their Source, adds received/rport to the top Via of
 * requests (§18.2.1, RFC 3581), and sends requests and responses down the right flow.
 *
 * A "flow" (RFC 5626 §3) is one connection (TCP/TLS/WS) or one UDP socket plus a remote address.
 * Every received message carries its flow id; sending with that id reuses the connection, which is
 * how an INVITE reaches a browser registered over WebSocket whose Contact host is `x.invalid`.
 */
import { isIP } from 'node:net';
import { lookup, resolveSrv } from 'node:dns/promises';
import { Emitter } from '../../lib/events.ts';
import type { Logger } from '../../lib/log.ts';
import { SipRequest, makeResponse, type SipMessage, type Source, type Transport } from './message.ts';
import { parseMessage, DEFAULT_LIMITS, type ParseLimits, type ParseResult } from './parser.ts';
import { newTag, parseVia } from './via.ts';
import type { SipUri } from './uri.ts';
import type { SipGuard } from './limits.ts';

export interface Destination {
  transport: Transport;
  address: string;
  port: number;
  /** Prefer this existing flow when it is still open. */
  flowId?: string;
}

/** One open connection or UDP socket, as the layer sees it. */
export interface Flow {
  readonly id: string;
  readonly transport: Transport;
  readonly reliable: boolean;
  readonly localAddress: string;
  readonly localPort: number;
  /** Remote end; empty for a UDP socket flow (which serves any remote). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  send(data: Buffer, address: string, port: number): void;
  close(): void;
  readonly closed: boolean;
}

/** Something that opens connections of one transport kind (TCP, TLS); UDP and WS do not. */
export interface Connector {
  connect(address: string, port: number): Promise<Flow>;
}

export interface Listener {
  readonly transport: Transport;
  /** Host and port to put in Via and Contact. */
  readonly advertised: { host: string; port: number };
  close(): Promise<void>;
}

export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

const DEFAULT_PORTS: Record<Transport, number> = { udp: 5060, tcp: 5060, tls: 5061, ws: 80, wss: 443 };
export const RELIABLE: Record<Transport, boolean> = { udp: false, tcp: true, tls: true, ws: true, wss: true };

export type TransportEvents = {
  /** A parsed message, stamped with its Source (and received/rport for requests). */
  message: [msg: SipMessage];
  /** Bytes that did not parse: the parser's verdict, where they came from, the bytes. */
  malformed: [result: ParseResult, source: Source, raw: Buffer];
  /** A connection (or UDP socket) closed. */
  flowClosed: [flowId: string];
};

export class TransportLayer extends Emitter<TransportEvents> {
  readonly flows = new Map<string, Flow>();
  /** Connection reuse (RFC 5923 spirit): `${transport}:${address}:${port}` -> flow id. */
  private readonly byRemote = new Map<string, string>();
  private readonly pendingConnects = new Map<string, Promise<Flow>>();
  readonly listening: Listener[] = [];
  readonly connectors = new Map<Transport, Connector>();
  private udpDefault?: Flow;
  /** Flood limits (limits.ts); none means nothing is limited. */
  guard: SipGuard | undefined;

  constructor(
    readonly log: Logger,
    readonly limits: ParseLimits = DEFAULT_LIMITS,
  ) {
    super();
  }

  addListening(l: Listener): void {
    this.listening.push(l);
  }

  /** Register a flow (UDP socket or new connection). */
  addFlow(flow: Flow): void {
    this.flows.set(flow.id, flow);
    if (flow.transport === 'udp') {
      if (!this.udpDefault) this.udpDefault = flow;
    } else {
      this.byRemote.set(`${flow.transport}:${flow.remoteAddress}:${flow.remotePort}`, flow.id);
    }
  }

  removeFlow(flow: Flow): void {
    if (this.flows.get(flow.id) !== flow) return;
    this.flows.delete(flow.id);
    const key = `${flow.transport}:${flow.remoteAddress}:${flow.remotePort}`;
    if (this.byRemote.get(key) === flow.id) this.byRemote.delete(key);
    if (this.udpDefault === flow) this.udpDefault = [...this.flows.values()].find((f) => f.transport === 'udp');
    this.emit('flowClosed', flow.id);
  }

  advertised(transport: Transport): { host: string; port: number } | undefined {
    return this.listening.find((l) => l.transport === transport)?.advertised;
  }

  /**
   * An inbound connection (TCP, TLS, WS) from `address`: a release function for when it closes,
   * or undefined when the guard refuses it and the transport must close it now.
   */
  acceptConnection(address: string, transport: Transport): (() => void) | undefined {
    return this.guard ? this.guard.openConnection(address, transport) : () => undefined;
  }

  /** Called by transports for each complete datagram / framed message / WS frame. */
  receive(data: Buffer, flow: Flow, address: string, port: number, framed: boolean): void {
    // The rate is checked before parsing: refusing a flood must cost less than serving it.
    const verdict = this.guard?.admitMessage(address, flow.transport);
    if (verdict && !verdict.ok) {
      if (flow.reliable) this.refuse(data, flow, address, port, framed, verdict.retryAfterSec);
      return;
    }
    const source: Source = {
      transport: flow.transport,
      address,
      port,
      flowId: flow.id,
      localAddress: flow.localAddress,
      localPort: flow.localPort,
    };
    if (!framed && isKeepAlive(data)) return;
    let r: ParseResult;
    try {
      r = parseMessage(data, this.limits, framed);
    } catch (err) {
      // The parser is written not to throw; this guards the process if it ever does.
      this.log.error({ err }, 'sip parser threw');
      r = { ok: false, error: 'parser failure', status: 400 };
    }
    if (!r.ok) {
      this.emit('malformed', r, source, data);
      return;
    }
    const msg = r.message;
    msg.source = source;
    if (msg instanceof SipRequest) stampVia(msg, source);
    this.emit('message', msg);
  }

  /**
   * A rate-limited message on a reliable transport: a request (not ACK, which has no response)
   * gets a stateless 503 with Retry-After down its own connection, where the handshake has
   * proven the source. Nothing else is done with it; responses and malformed bytes are dropped.
   */
  private refuse(data: Buffer, flow: Flow, address: string, port: number, framed: boolean, retryAfterSec: number): void {
    let r: ParseResult;
    try {
      r = parseMessage(data, this.limits, framed);
    } catch {
      return;
    }
    if (!r.ok || !(r.message instanceof SipRequest) || r.message.method === 'ACK' || !r.message.topVia) return;
    const res = makeResponse(r.message, 503, 'Service Unavailable - rate limit', newTag());
    res.set('retry-after', String(retryAfterSec));
    flow.send(res.serialize(), address, port);
  }

  openFlowSync(dest: Destination): Flow | undefined {
    if (dest.flowId !== undefined) {
      const f = this.flows.get(dest.flowId);
      if (f && !f.closed) return f;
    }
    if (dest.transport === 'udp') return this.udpDefault;
    const id = this.byRemote.get(`${dest.transport}:${dest.address}:${dest.port}`);
    const f = id !== undefined ? this.flows.get(id) : undefined;
    return f && !f.closed ? f : undefined;
  }

  async flowFor(dest: Destination): Promise<Flow> {
    const f = this.openFlowSync(dest);
    if (f) return f;
    if (dest.transport === 'udp') throw new TransportError('no UDP listener');
    if (dest.address.endsWith('.invalid')) throw new TransportError(`flow to ${dest.address} is gone`);
    const connector = this.connectors.get(dest.transport);
    if (!connector) throw new TransportError(`cannot open ${dest.transport} connection to ${dest.address}:${dest.port}`);
    const key = `${dest.transport}:${dest.address}:${dest.port}`;
    let p = this.pendingConnects.get(key);
    if (!p) {
      p = connector.connect(dest.address, dest.port).finally(() => this.pendingConnects.delete(key));
      this.pendingConnects.set(key, p);
    }
    return p;
  }

  async close(): Promise<void> {
    for (const f of [...this.flows.values()]) f.close();
    await Promise.all(this.listening.map((l) => l.close()));
    this.listening.length = 0;
    this.flows.clear();
    this.byRemote.clear();
  }
}

/**
 * Datagram keep-alives that are not SIP: bare CRLFs (phones behind NAT) and STUN binding
 * requests (RFC 5626 §4.4.2, magic cookie 0x2112A442). They are dropped silently rather than
 * counted as malformed.
 */
function isKeepAlive(data: Buffer): boolean {
  if (data.length <= 4 && data.every((b) => b === 0x0d || b === 0x0a || b === 0x20)) return true;
  return data.length >= 20 && data[0]! < 2 && data.readUInt32BE(4) === 0x2112a442;
}

/**
 * §18.2.1 + RFC 3581: record where the request really came from in the top Via. The value is
 * edited in place, not re-serialised, so the sent-by comes back byte-identical (sip.js drops
 * responses whose Via host differs even in letter case).
 */
function stampVia(req: SipRequest, src: Source): void {
  const vias = req.headers.get('via');
  const top = vias?.[0];
  if (!vias || top === undefined) return;
  const via = parseVia(top);
  if (!via) return;
  const hasRport = via.params.has('rport');
  const needReceived = hasRport || (via.host !== src.address && via.host !== `[${src.address}]`);
  let v = top.trimEnd();
  if (needReceived) {
    if (via.params.has('received')) v = v.replace(/;\s*received\s*=\s*[^;,\s]*/i, `;received=${src.address}`);
    else v += `;received=${src.address}`;
  }
  if (hasRport) v = v.replace(/;\s*rport(\s*=\s*\d*)?(?=\s*(;|$))/i, `;rport=${src.port}`);
  vias[0] = v;
}

/**
 * Where to send a response (§18.2.2): down the request's own flow for reliable transports and
 * WebSocket; for UDP to received/rport or the sent-by address.
 */
export function responseDestination(req: SipMessage): Destination | undefined {
  const src = req.source;
  const via = req.topVia;
  if (!via) return undefined;
  const transport = (via.transport.toLowerCase() as Transport) in RELIABLE ? (via.transport.toLowerCase() as Transport) : 'udp';
  if (src && RELIABLE[src.transport]) {
    return { transport: src.transport, address: src.address, port: src.port, flowId: src.flowId };
  }
  const received = via.params.get('received');
  const rport = via.params.get('rport');
  const address = received ?? via.host.replace(/^\[|\]$/g, '');
  const port = rport ? Number(rport) : (via.port ?? DEFAULT_PORTS[transport]);
  const dest: Destination = { transport: src?.transport ?? transport, address, port };
  if (src) dest.flowId = src.flowId;
  return dest;
}

/** DNS used for next hops; replaceable so tests can stand in for a zone. */
export interface Resolver {
  lookup(host: string): Promise<string>;
  resolveSrv(name: string): Promise<{ name: string; port: number; priority: number; weight: number }[]>;
}
let resolver: Resolver = {
  lookup: async (host) => (await lookup(host)).address,
  resolveSrv: (name) => resolveSrv(name),
};
export function setResolver(r: Resolver): void {
  resolver = r;
}

/**
 * Where to send a request for a next-hop URI (RFC 3263 without NAPTR): explicit transport
 * param, sips -> TLS; for a host name without a port, SRV (_sip._udp, _sip._tcp, _sips._tcp)
 * picking the lowest priority and highest weight, then A/AAAA; default ports otherwise.
 */
export async function uriDestination(uri: SipUri, flowId?: string): Promise<Destination> {
  let transport: Transport;
  const tp = uri.params.get('transport')?.toLowerCase();
  if (tp === 'tcp' || tp === 'udp' || tp === 'tls' || tp === 'ws' || tp === 'wss') transport = tp;
  else if (uri.scheme === 'sips') transport = 'tls';
  else transport = 'udp';
  if (uri.scheme === 'sips' && transport === 'tcp') transport = 'tls';
  let port = uri.port ?? DEFAULT_PORTS[transport];
  let host = uri.params.get('maddr') ?? uri.host;
  host = host.replace(/^\[|\]$/g, '');
  const dest: Destination = { transport, address: host, port };
  if (flowId !== undefined) dest.flowId = flowId;
  if (isIP(host) || host.endsWith('.invalid') || flowId !== undefined) return dest;
  if (uri.port === undefined && transport !== 'ws' && transport !== 'wss') {
    const candidates: [Transport, string][] =
      transport === 'tls'
        ? [['tls', `_sips._tcp.${host}`]]
        : tp
          ? [[transport, `_sip._${transport}.${host}`]]
          : [
              ['udp', `_sip._udp.${host}`],
              ['tcp', `_sip._tcp.${host}`],
            ];
    for (const [t, name] of candidates) {
      const records = await resolver.resolveSrv(name).catch(() => []);
      const best = [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
      if (best) {
        transport = t;
        host = best.name;
        port = best.port;
        dest.transport = t;
        dest.port = port;
        break;
      }
    }
  }
  try {
    dest.address = isIP(host) ? host : await resolver.lookup(host);
  } catch {
    throw new TransportError(`cannot resolve ${host}`);
  }
  return dest;
}
