/**
 * The far-end-facing socket of a plain RTP leg (carrier trunk, desk phone). It relays between the
 * remote party and the leg's mediasoup PlainTransport on loopback, and lets Node see every packet
 * on the way:
 *  - mediasoup never hands RFC 4733 telephone-events to consumers (they are not a "media codec"
 *    to its Consumer), so DTMF events from a carrier would otherwise be lost;
 *  - the recorder and the in-band DTMF detector need the samples of both directions anyway;
 *  - prompts and music on hold go straight out of this socket instead of through the worker.
 *
 * RTP on an even port, RTCP on the next one unless muxed (RFC 3550 §11, RFC 5761). Towards
 * mediasoup a third, loopback socket is connect()ed to the PlainTransport: the kernel then filters
 * its sources, and Node's send skips the per-packet address lookup. With comedia
 * (symmetric RTP, RFC 4961) the relay sends to wherever the remote's first packet came from and
 * then ignores other sources, which defends against RTP injection from elsewhere.
 * Inbound SSRCs are rewritten to one fixed SSRC, so the mediasoup Producer (which must know its
 * SSRC up front) survives the SSRC changes carriers make on re-INVITEs and transfers. Outbound,
 * everything (mediasoup's stream, prompts, key presses) is spliced into one stream (RtpSplicer).
 * Because SSRCs are rewritten both ways, RTCP is terminated here: the party's reports are read
 * (for LSR/DLSR), mediasoup's are dropped, and the relay sends its own SR/RR + SDES every 5 s.
 * When a plain leg hears another plain leg (trunk ↔ desk phone), the call routes their packets
 * relay to relay (`route`), skipping the loopback round trip through mediasoup: per 20 ms packet
 * that is one UDP receive and one send on the leg's RTP thread instead of two of each.
 */
import dgram from 'node:dgram';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { buildCompoundRtcp, ReceptionStats } from './rtcp.ts';
import { randomSsrc } from './rtp.ts';
import { RtpSplicer } from './rtpSplicer.ts';

const RTCP_INTERVAL_MS = 5000;

export interface PortRange {
  min: number;
  max: number;
}

export interface RemoteRtpAddress {
  address: string;
  port: number;
  rtcpAddress: string;
  rtcpPort: number;
  rtcpMux: boolean;
}

interface RtpRelayHooks {
  /** An RTP packet (version 2, not RTCP) from the remote; may be edited in place. True forwards it. */
  inbound(raw: Buffer): boolean;
  /** An RTP packet from mediasoup towards the remote. Return true to send it. */
  outbound(raw: Buffer): boolean;
}

export interface RtpRelayStats {
  rtpIn: number;
  rtpOut: number;
  rtcpIn: number;
  rtcpOut: number;
  /** Packets from a source other than the latched one, or not RTP/RTCP at all. */
  rejected: number;
}

function isRtcp(b: Buffer): boolean {
  const pt = b[1]!;
  return b.length >= 8 && b[0]! >> 6 === 2 && pt >= 192 && pt <= 223;
}

const sameAddr = (a: dgram.RemoteInfo, ip: string, port: number) => a.port === port && a.address === ip;

function bindSocket(ip: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: ip.includes(':') ? 'udp6' : 'udp4' });
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.bind(port, ip, () => {
      s.removeAllListeners('error');
      resolve(s);
    });
  });
}

export class RtpRelay {
  readonly stats: RtpRelayStats = { rtpIn: 0, rtpOut: 0, rtcpIn: 0, rtcpOut: 0, rejected: 0 };
  /** Time (by the clock) of the last RTP packet accepted from the remote (0 before any). */
  lastInboundAt = 0;
  private readonly splicer: RtpSplicer;
  private readonly reception = new ReceptionStats();
  private sentPackets = 0;
  private sentOctets = 0;
  private rtcpTimer: TimerHandle | undefined;
  private remote: RemoteRtpAddress | undefined;
  private sdpRemote: RemoteRtpAddress | undefined;
  private latched = false;
  private innerReady = false;
  /** After latching, the RTP socket is connect()ed to the remote (kernel-side source filter). */
  private outerConnected = false;
  private closed = false;
  /**
   * Plain-to-plain shortcut (set by the call from its legs' feeds): relays of legs that hear this
   * one get its packets directly, without the loopback round trip through mediasoup (two fewer
   * UDP sends and receives per packet on the RTP thread). `toInner` stays on while anything else
   * (a browser leg) consumes this leg's Producer.
   */
  private direct: RtpRelay[] = [];
  private toInner = true;
  /** When this leg hears a plain leg directly: the source key its packets are spliced as. */
  private directSource: number | undefined;

  private constructor(
    private readonly rtp: dgram.Socket,
    private readonly rtcp: dgram.Socket,
    private readonly inner: dgram.Socket,
    readonly port: number,
    private readonly comedia: boolean,
    private readonly hooks: RtpRelayHooks,
    private readonly ssrc: number,
    private readonly clock: Clock,
  ) {
    this.splicer = new RtpSplicer(randomSsrc(), () => clock.now());
    rtp.on('message', (m, from) => this.onRtpSocket(m, from));
    rtcp.on('message', (m, from) => this.onRtcpSocket(m, from));
    inner.on('message', (m) => this.onInnerSocket(m));
    // A send to an unreachable port (ICMP) surfaces here; it must not crash the process.
    for (const s of [rtp, rtcp, inner]) s.on('error', () => this.stats.rejected++);
  }

  /** Bind an even RTP port and the RTCP port above it, somewhere in `range`. */
  static async open(p: {
    ip: string;
    range: PortRange;
    comedia: boolean;
    ssrc: number;
    hooks: RtpRelayHooks;
    clock: Clock;
  }): Promise<RtpRelay> {
    const min = p.range.min + (p.range.min & 1);
    const slots = Math.floor((p.range.max - min + 1) / 2);
    if (slots < 1) throw new Error(`RTP port range ${p.range.min}-${p.range.max} has no even/odd pair`);
    let start = Math.floor(Math.random() * slots);
    for (let attempt = 0; attempt < Math.min(slots, 64); attempt++, start = (start + 1) % slots) {
      const port = min + start * 2;
      let rtp: dgram.Socket | undefined;
      try {
        rtp = await bindSocket(p.ip, port);
        const rtcp = await bindSocket(p.ip, port + 1);
        const inner = await bindSocket('127.0.0.1', 0);
        return new RtpRelay(rtp, rtcp, inner, port, p.comedia, p.hooks, p.ssrc, p.clock);
      } catch (e) {
        rtp?.close();
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      }
    }
    throw new Error(`no free RTP port pair in ${p.range.min}-${p.range.max}`);
  }

  /** See `direct`. `source` is the splice source key of what this relay hears directly, if any. */
  route(direct: RtpRelay[], toInner: boolean, source: number | undefined): void {
    this.direct = direct;
    this.toInner = toInner;
    this.directSource = source;
  }

  get rtcpPort(): number {
    return this.port + 1;
  }

  /** The SSRC of the one stream this relay sends its remote (the splicer's). */
  get outSsrc(): number {
    return this.splicer.ssrc;
  }

  /** The loopback port mediasoup's PlainTransport must send to. */
  get innerPort(): number {
    return this.inner.address().port;
  }

  /** Where mediasoup's PlainTransport listens (loopback). */
  setInner(ip: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.inner.connect(port, ip, (err?: Error) => {
        if (err) return reject(err);
        this.innerReady = true;
        resolve();
      });
    });
  }

  /** The remote from its SDP. With comedia the first packet received may move it. */
  setRemote(r: RemoteRtpAddress): void {
    const prev = this.sdpRemote;
    this.sdpRemote = r;
    if (this.latched && prev && prev.address === r.address && prev.port === r.port) {
      // Same SDP address (a hold/unhold re-INVITE): keep the latched one (NAT), new mux choice.
      this.remote = { ...this.remote!, rtcpMux: r.rtcpMux };
      return;
    }
    if (this.latched) {
      // The remote moved its media (transfer, new media server): learn it again.
      this.latched = false;
      if (this.outerConnected) {
        this.outerConnected = false;
        this.rtp.disconnect();
      }
    }
    this.remote = r;
  }

  get remoteAddress(): RemoteRtpAddress | undefined {
    return this.remote;
  }

  /** Send an RTP packet built in Node (prompt, MOH) to the remote, spliced into our stream. */
  sendToRemote(packet: Buffer): void {
    if (this.closed || !this.remote) return;
    // Node's sources are negative, mediasoup's are its SSRC (≥ 0): no string per packet.
    this.splicer.audio(packet, -1 - packet.readUInt32BE(8));
    this.sendOut(packet);
  }

  /** Send a telephone-event packet of a key press that began at timeline `eventTs`. */
  sendEventToRemote(packet: Buffer, eventTs: number): void {
    if (this.closed || !this.remote) return;
    this.splicer.event(packet, eventTs);
    this.sendOut(packet);
  }

  /** Our outgoing stream's RTP timestamp for "now" (for stamping key presses). */
  timeline(): number {
    return this.splicer.timeline();
  }

  private sendOut(m: Buffer): void {
    this.stats.rtpOut++;
    this.sentPackets++;
    this.sentOctets += m.length - 12;
    this.sendRtp(m);
  }

  private sendRtp(m: Buffer): void {
    if (this.outerConnected) this.rtp.send(m);
    else this.rtp.send(m, this.remote!.port, this.remote!.address);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.rtcpTimer) this.clock.clearTimeout(this.rtcpTimer);
    this.rtp.close();
    this.rtcp.close();
    this.inner.close();
  }

  private scheduleRtcp(): void {
    if (this.rtcpTimer || this.closed) return;
    // RFC 3550 §6.3.5: randomise the interval (0.5–1.5 ×) so many calls' reports do not align.
    this.rtcpTimer = this.clock.setTimeout(
      () => {
        this.rtcpTimer = undefined;
        this.sendRtcp();
        this.scheduleRtcp();
      },
      RTCP_INTERVAL_MS * (0.5 + Math.random()),
    );
  }

  private sendRtcp(): void {
    if (this.closed || !this.remote) return;
    const now = this.clock.now();
    const block = this.reception.reportBlock(now);
    const pkt = buildCompoundRtcp({
      ssrc: this.splicer.ssrc,
      cname: `callcentre-${this.splicer.ssrc.toString(16)}`,
      nowMs: now,
      ...(this.sentPackets > 0
        ? { sender: { ssrc: this.splicer.ssrc, rtpTimestamp: this.splicer.timeline(), packets: this.sentPackets, octets: this.sentOctets } }
        : {}),
      ...(block ? { block } : {}),
    });
    this.stats.rtcpOut++;
    if (this.remote.rtcpMux) this.sendRtp(pkt);
    else this.rtcp.send(pkt, this.remote.rtcpPort, this.remote.rtcpAddress);
  }

  /** From mediasoup, towards the remote. */
  private onInnerSocket(m: Buffer): void {
    if (!this.remote || isRtcp(m)) return; // mediasoup's RTCP describes SSRCs the party never sees
    if (this.directSource !== undefined) return; // what this leg hears comes directly (fromPeer)
    this.toRemote(m, m.readUInt32BE(8));
  }

  /** A packet of the plain leg this one hears, straight from its relay (the buffer is ours). */
  private fromPeer(m: Buffer): void {
    if (this.closed || !this.remote || this.directSource === undefined) return;
    this.toRemote(m, this.directSource);
  }

  private toRemote(m: Buffer, source: number): void {
    if (!this.hooks.outbound(m)) return;
    this.splicer.audio(m, source);
    this.sendOut(m);
    this.scheduleRtcp();
  }

  private onRtpSocket(m: Buffer, from: dgram.RemoteInfo): void {
    if (!this.acceptRemote(from, false)) return;
    if (isRtcp(m)) return this.toInnerRtcp(m);
    if (m.length < 12 || m[0]! >> 6 !== 2) {
      this.stats.rejected++;
      return;
    }
    this.stats.rtpIn++;
    this.lastInboundAt = this.clock.now();
    this.reception.packet(m.readUInt32BE(8), m.readUInt16BE(2));
    this.scheduleRtcp();
    if (!this.hooks.inbound(m)) return;
    // Rewrite the SSRC in place: the buffer is ours (dgram allocates one per message).
    m.writeUInt32BE(this.ssrc, 8);
    const direct = this.direct;
    const toInner = this.toInner && this.innerReady;
    // Each receiver rewrites its copy in place (splicer), and a send may still hold the buffer.
    for (let i = 0; i < direct.length; i++) direct[i]!.fromPeer(toInner || i < direct.length - 1 ? Buffer.from(m) : m);
    if (toInner) this.inner.send(m);
  }

  private onRtcpSocket(m: Buffer, from: dgram.RemoteInfo): void {
    if (!this.acceptRemote(from, true) || !isRtcp(m)) {
      this.stats.rejected++;
      return;
    }
    this.toInnerRtcp(m);
  }

  /** The party's RTCP: its SR feeds our LSR/DLSR; nothing goes on to mediasoup (SSRCs differ). */
  private toInnerRtcp(m: Buffer): void {
    this.stats.rtcpIn++;
    for (let off = 0; off + 8 <= m.length;) {
      const len = (m.readUInt16BE(off + 2) + 1) * 4;
      if (m[off + 1] === 200) this.reception.senderReport(m.subarray(off, off + len), this.clock.now());
      off += len;
    }
  }

  /** Comedia latching and source filtering. */
  private acceptRemote(from: dgram.RemoteInfo, rtcp: boolean): boolean {
    if (!this.comedia) return true;
    if (!this.latched) {
      if (rtcp) return true; // latch on RTP only: RTCP may come from another port
      this.latched = true;
      const mux = this.remote?.rtcpMux ?? true;
      this.remote = {
        address: from.address,
        port: from.port,
        rtcpAddress: from.address,
        rtcpPort: mux ? from.port : from.port + 1,
        rtcpMux: mux,
      };
      this.rtp.connect(from.port, from.address, (err?: Error) => {
        if (!err && !this.closed) this.outerConnected = true;
      });
      return true;
    }
    const r = this.remote!;
    const ok = rtcp ? from.address === r.rtcpAddress : sameAddr(from, r.address, r.port);
    if (!ok) this.stats.rejected++;
    return ok;
  }
}
