/**
 * UDP transport (RFC 3261 §18): one socket per listen address; each datagram is one message.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Flow, Listener, TransportLayer } from './transport.ts';
import { advertisedHost } from './netaddr.ts';

let seq = 0;

export interface UdpOptions {
  host?: string;
  port?: number;
  /** Address to put in Via/Contact when host is a wildcard or behind NAT. */
  publicAddress?: string;
}

export async function listenUdp(layer: TransportLayer, opts: UdpOptions): Promise<Listener> {
  const host = opts.host ?? '0.0.0.0';
  const socket = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(opts.port ?? 5060, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // Socket buffers sized for bursts of retransmissions under load.
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
    socket.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    /* kernel caps are fine */
  }
  const addr = socket.address();
  let closed = false;
  const flow: Flow = {
    id: `udp#${++seq}`,
    transport: 'udp',
    reliable: false,
    localAddress: addr.address,
    localPort: addr.port,
    remoteAddress: '',
    remotePort: 0,
    send(data, address, port) {
      if (closed) return;
      socket.send(data, port, address, (err) => {
        if (err) layer.log.warn({ err: err.message, address, port }, 'udp send failed');
      });
    },
    close() {
      if (!closed) {
        closed = true;
        socket.close();
      }
    },
    get closed() {
      return closed;
    },
  };
  socket.on('message', (data, rinfo) => layer.receive(data, flow, rinfo.address, rinfo.port, false));
  socket.on('error', (err) => layer.log.warn({ err: err.message }, 'udp socket error'));
  socket.on('close', () => {
    closed = true;
    layer.removeFlow(flow);
  });
  layer.addFlow(flow);
  const listener: Listener = {
    transport: 'udp',
    advertised: { host: opts.publicAddress ?? advertisedHost(addr.address), port: addr.port },
    close: async () => flow.close(),
  };
  layer.addListening(listener);
  return listener;
}
