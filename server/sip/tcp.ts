/**
 * Stream transports (RFC 3261 §18.3): TCP and TLS (RFC 3261 §26.2, sips). Messages are framed by
 * Content-Length; RFC 5626 CRLF keep-alive pings get a CRLF pong. Connections are reused both
 * ways: inbound connections serve requests we send to that peer (flows), and outbound ones are
 * kept in the layer's connection table.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Transport } from './message.ts';
import { StreamFramer } from './parser.ts';
import { TransportError, type Flow, type Listener, type TransportLayer } from './transport.ts';
import { advertisedHost } from './netaddr.ts';

let seq = 0;

/**
 * Bytes queued for a peer that does not read before its connection is closed: Node buffers
 * writes without bound, so a peer that floods requests and never reads the answers would
 * otherwise grow our memory with the 503s it is sent.
 */
const MAX_UNSENT_BYTES = 1024 * 1024;

export interface TcpOptions {
  host?: string;
  port?: number;
  publicAddress?: string;
  /** Close connections idle longer than this (ms). Default 15 min. */
  idleTimeoutMs?: number;
}

export interface TlsOptions extends TcpOptions {
  key: string | Buffer;
  cert: string | Buffer;
  ca?: string | Buffer;
  /** Verify server certificates on outbound connections. Default true. */
  rejectUnauthorized?: boolean;
}

function wrap(layer: TransportLayer, socket: net.Socket, transport: Transport, idleMs: number): Flow {
  const framer = new StreamFramer(layer.limits);
  let closed = false;
  const remoteAddress = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const remotePort = socket.remotePort ?? 0;
  const flow: Flow = {
    id: `${transport}#${++seq}`,
    transport,
    reliable: true,
    localAddress: (socket.localAddress ?? '').replace(/^::ffff:/, ''),
    localPort: socket.localPort ?? 0,
    remoteAddress,
    remotePort,
    send(data) {
      if (closed) return;
      if (socket.writableLength > MAX_UNSENT_BYTES) {
        layer.log.warn({ flow: flow.id, remote: `${remoteAddress}:${remotePort}` }, 'closing stream: peer does not read');
        flow.close();
        return;
      }
      socket.write(data);
    },
    close() {
      if (!closed) {
        closed = true;
        socket.destroy();
      }
    },
    get closed() {
      return closed;
    },
  };
  socket.setNoDelay(true);
  socket.setTimeout(idleMs, () => flow.close());
  socket.on('data', (chunk: Buffer) => {
    const r = framer.push(chunk);
    if (r.pings) socket.write('\r\n');
    for (const m of r.messages) layer.receive(m, flow, remoteAddress, remotePort, true);
    if (r.error) {
      layer.log.warn({ flow: flow.id, err: r.error }, 'closing stream: unrecoverable framing');
      flow.close();
    }
  });
  socket.on('error', (err) => layer.log.debug({ flow: flow.id, err: err.message }, 'stream error'));
  socket.on('close', () => {
    closed = true;
    layer.removeFlow(flow);
  });
  layer.addFlow(flow);
  return flow;
}

/**
 * The guard's say on a new inbound connection (limits.ts): true to serve it; false after closing
 * it, before any byte is read (for TLS, before the handshake is paid for).
 */
function admit(layer: TransportLayer, socket: net.Socket, transport: Transport): boolean {
  const release = layer.acceptConnection((socket.remoteAddress ?? '').replace(/^::ffff:/, ''), transport);
  if (!release) {
    socket.destroy();
    return false;
  }
  socket.once('close', release);
  return true;
}

async function listenOn(server: net.Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {
    /* accept errors (EMFILE) must not crash the process; the listener stays up */
  });
}

export async function listenTcp(layer: TransportLayer, opts: TcpOptions): Promise<Listener> {
  const idle = opts.idleTimeoutMs ?? 15 * 60_000;
  const server = net.createServer((s) => {
    if (admit(layer, s, 'tcp')) wrap(layer, s, 'tcp', idle);
  });
  await listenOn(server, opts.host ?? '0.0.0.0', opts.port ?? 5060);
  const addr = server.address() as net.AddressInfo;
  layer.connectors.set('tcp', {
    connect: (address, port) =>
      new Promise<Flow>((resolve, reject) => {
        const s = net.connect({ host: address, port });
        s.once('connect', () => resolve(wrap(layer, s, 'tcp', idle)));
        s.once('error', (e) => reject(new TransportError(`tcp connect ${address}:${port}: ${e.message}`)));
      }),
  });
  const listener: Listener = {
    transport: 'tcp',
    advertised: { host: opts.publicAddress ?? advertisedHost(addr.address), port: addr.port },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  layer.addListening(listener);
  return listener;
}

export async function listenTls(layer: TransportLayer, opts: TlsOptions): Promise<Listener> {
  const idle = opts.idleTimeoutMs ?? 15 * 60_000;
  const ctx = { key: opts.key, cert: opts.cert, ...(opts.ca ? { ca: opts.ca } : {}) };
  const server = tls.createServer(ctx, (s) => wrap(layer, s, 'tls', idle));
  server.on('tlsClientError', (err) => layer.log.debug({ err: err.message }, 'tls handshake failed'));
  // 'connection' carries the raw TCP socket, before the handshake: refused ones cost no crypto.
  server.on('connection', (raw: net.Socket) => void admit(layer, raw, 'tls'));
  await listenOn(server, opts.host ?? '0.0.0.0', opts.port ?? 5061);
  const addr = server.address() as net.AddressInfo;
  layer.connectors.set('tls', {
    connect: (address, port) =>
      new Promise<Flow>((resolve, reject) => {
        const s = tls.connect({
          host: address,
          port,
          ...(opts.ca ? { ca: opts.ca } : {}),
          rejectUnauthorized: opts.rejectUnauthorized ?? true,
        });
        s.once('secureConnect', () => resolve(wrap(layer, s, 'tls', idle)));
        s.once('error', (e: Error) => reject(new TransportError(`tls connect ${address}:${port}: ${e.message}`)));
      }),
  });
  const listener: Listener = {
    transport: 'tls',
    advertised: { host: opts.publicAddress ?? advertisedHost(addr.address), port: addr.port },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  layer.addListening(listener);
  return listener;
}
