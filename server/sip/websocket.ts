/**
 * SIP over WebSocket (RFC 7118): subprotocol `sip`, one SIP message per frame, attachable to an
 * existing http/https server (upgrade on a path) so the softphone page, REST and SIP share :8080.
 * Browsers cannot be dialled, so WS flows exist only as inbound connections; requests to an agent
 * go down the flow it registered on.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { Flow, Listener, TransportLayer } from './transport.ts';
import { advertisedHost } from './netaddr.ts';

let seq = 0;

export interface WsOptions {
  /** Attach to this server (its 'upgrade' event); otherwise a server is created on host:port. */
  server?: http.Server | https.Server;
  path?: string;
  host?: string;
  port?: number;
  /** Create a standalone HTTPS server (wss) with these. */
  key?: string | Buffer;
  cert?: string | Buffer;
  publicAddress?: string;
  secure?: boolean;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export async function listenWs(layer: TransportLayer, opts: WsOptions): Promise<Listener> {
  const path = opts.path ?? '/';
  let server = opts.server;
  const own = !server;
  const secure = opts.secure ?? (server ? server instanceof https.Server : Boolean(opts.key));
  const transport = secure ? 'wss' : 'ws';
  if (!server) {
    server = opts.key && opts.cert ? https.createServer({ key: opts.key, cert: opts.cert }) : http.createServer();
    server.on('request', (_req, res) => {
      res.statusCode = 426;
      res.end('SIP over WebSocket only\n');
    });
    const s = server;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(opts.port ?? (secure ? 443 : 80), opts.host ?? '0.0.0.0', () => {
        s.off('error', reject);
        resolve();
      });
    });
  }
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: layer.limits.maxMessageBytes,
    handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
  });
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = req.url ?? '/';
    const p = url.split('?')[0];
    if (p !== path) {
      // Other upgrade handlers on a shared server own other paths; destroy only if nobody else listens.
      if (own) socket.destroy();
      return;
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase());
    if (!offered.includes('sip')) {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\nSec-WebSocket-Protocol must include sip\r\n');
      return;
    }
    // The connection limit is applied before the upgrade, so a refused peer costs one HTTP answer.
    const release = layer.acceptConnection((req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''), transport);
    if (!release) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 60\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req));
  };
  server.on('upgrade', onUpgrade);

  const accept = (ws: WebSocket, req: http.IncomingMessage): void => {
    const remoteAddress = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const remotePort = req.socket.remotePort ?? 0;
    let closed = false;
    const flow: Flow = {
      id: `${transport}#${++seq}`,
      transport,
      reliable: true,
      localAddress: (req.socket.localAddress ?? '').replace(/^::ffff:/, ''),
      localPort: req.socket.localPort ?? 0,
      remoteAddress,
      remotePort,
      send(data) {
        // Text frames: SIP is UTF-8 and sip.js handles text most directly.
        if (!closed) ws.send(data.toString('utf8'));
      },
      close() {
        if (!closed) {
          closed = true;
          ws.close(1000);
        }
      },
      get closed() {
        return closed;
      },
    };
    ws.on('message', (data) => {
      const buf = toBuffer(data);
      // RFC 5626 CRLF keep-alive over WS (sip.js sends "\r\n\r\n").
      if (buf.length <= 4 && buf.toString('latin1').trim() === '') {
        if (buf.length === 4) ws.send('\r\n');
        return;
      }
      layer.receive(buf, flow, remoteAddress, remotePort, false);
    });
    ws.on('error', (err) => layer.log.debug({ flow: flow.id, err: err.message }, 'ws error'));
    ws.on('close', () => {
      closed = true;
      layer.removeFlow(flow);
    });
    layer.addFlow(flow);
  };

  const addr = server.address() as AddressInfo | null;
  const listener: Listener = {
    transport,
    advertised: {
      host: opts.publicAddress ?? advertisedHost(addr?.address ?? '0.0.0.0'),
      port: addr?.port ?? opts.port ?? 80,
    },
    close: async () => {
      server.off('upgrade', onUpgrade);
      for (const c of wss.clients) c.terminate();
      wss.close();
      if (own) await new Promise<void>((r) => server.close(() => r()));
    },
  };
  layer.addListening(listener);
  return listener;
}
