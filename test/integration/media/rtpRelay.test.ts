/**
 * The plain-leg relay on its own (no mediasoup): symmetric RTP latching, source filtering against
 * injected packets, RTCP on port+1 when not muxed, re-latching when a re-INVITE moves the remote,
 * and garbage that must not crash anything.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, SystemClock } from '../../../lib/clock.ts';
import { buildRtp, parseRtp } from '../../../media/rtp/rtp.ts';
import { RtpRelay } from '../../../media/rtp/rtpRelay.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open: { close(): void }[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function sock(): Promise<{ s: dgram.Socket; port: number; got: Buffer[] }> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  open.push(s);
  return { s, port: s.address().port, got };
}
const rtp = (ssrc: number, seq: number) =>
  buildRtp({ payloadType: 0, marker: false, sequenceNumber: seq, timestamp: seq * 160, ssrc, payload: Buffer.alloc(160, 0xff) });
const rtcp = () => Buffer.from([0x81, 201, 0, 1, 0, 0, 0, 9]);

describe('RtpRelay', () => {
  it('latches, filters other sources, rewrites SSRCs both ways, terminates RTCP, re-latches on a move', async () => {
    const inbound: number[] = [];
    const clock = new FakeClock(Date.now());
    const relay = await RtpRelay.open({
      clock,
      ip: '127.0.0.1',
      range: { min: 39000, max: 39099 },
      comedia: true,
      ssrc: 0xabcdef01,
      hooks: { inbound: (raw) => (inbound.push(raw.readUInt32BE(8)), true), outbound: () => true },
    });
    open.push(relay);
    expect(relay.port % 2).toBe(0);
    const ms = await sock(); // stands in for mediasoup's PlainTransport
    ms.s.connect(relay.innerPort, '127.0.0.1');
    await relay.setInner('127.0.0.1', ms.port);
    const phone = await sock();
    const rtcpSock = await sock();
    const attacker = await sock();
    // SDP says the phone is somewhere else (behind NAT): the first packet decides
    relay.setRemote({ address: '127.0.0.1', port: 9, rtcpAddress: '127.0.0.1', rtcpPort: 10, rtcpMux: false });
    phone.s.send(rtp(7, 1), relay.port, '127.0.0.1');
    await sleep(50);
    expect(ms.got).toHaveLength(1);
    expect(ms.got[0]!.readUInt32BE(8)).toBe(0xabcdef01); // SSRC rewritten for mediasoup
    expect(inbound).toEqual([7]);
    attacker.s.send(rtp(66, 1), relay.port, '127.0.0.1');
    attacker.s.send(Buffer.from('garbage'), relay.port, '127.0.0.1');
    attacker.s.send(Buffer.alloc(0), relay.rtcpPort, '127.0.0.1');
    await sleep(50);
    expect(ms.got).toHaveLength(1);
    // mediasoup → the latched address: RTP (re-stamped into our one stream), not its RTCP
    ms.s.send(rtp(1, 1));
    ms.s.send(rtcp());
    await sleep(50);
    expect(phone.got).toHaveLength(1);
    const ourSsrc = parseRtp(phone.got[0]!)!.ssrc;
    expect(ourSsrc).not.toBe(1);
    expect(rtcpSock.got).toHaveLength(0);
    // RTCP from the phone on port+1 is read here, not passed to mediasoup (its SSRCs are rewritten)
    phone.s.send(rtcp(), relay.rtcpPort, '127.0.0.1');
    await sleep(50);
    expect(ms.got.map((b) => b[1])).not.toContain(201);
    expect(relay.stats.rtcpIn).toBe(1);
    // a re-INVITE moving the media: the relay learns the new source
    relay.setRemote({ address: '127.0.0.1', port: rtcpSock.port, rtcpAddress: '127.0.0.1', rtcpPort: rtcpSock.port, rtcpMux: true });
    const moved = await sock();
    moved.s.send(rtp(8, 1), relay.port, '127.0.0.1');
    await sleep(50);
    ms.s.send(rtp(1, 2));
    await sleep(50);
    expect(moved.got).toHaveLength(1);
    expect(parseRtp(moved.got[0]!)!.ssrc).toBe(ourSsrc); // one outgoing stream throughout
    expect(inbound).toEqual([7, 8]);
    // our own RTCP: a sender report for that stream, with a report block about the party's
    clock.advance(8000);
    await sleep(50);
    const sr = moved.got.find((b) => b[1] === 200);
    expect(sr).toBeDefined();
    expect(sr!.readUInt32BE(4)).toBe(ourSsrc);
    expect(sr![0]! & 0x1f).toBe(1);
    expect(sr!.readUInt32BE(28)).toBe(8); // reporting on the party's (new) SSRC
    // after latching the kernel drops other sources (connected socket); the RTCP junk is counted
    expect(relay.stats.rejected).toBeGreaterThanOrEqual(1);
  });

  it('finds another port pair when ports are taken, and says so when none is left', async () => {
    const hooks = { inbound: () => true, outbound: () => true };
    const clock = new SystemClock();
    const a = await RtpRelay.open({ clock, ip: '127.0.0.1', range: { min: 39200, max: 39203 }, comedia: true, ssrc: 1, hooks });
    open.push(a);
    const b = await RtpRelay.open({ clock, ip: '127.0.0.1', range: { min: 39200, max: 39203 }, comedia: true, ssrc: 2, hooks });
    open.push(b);
    expect(new Set([a.port, b.port]).size).toBe(2);
    await expect(
      RtpRelay.open({ clock, ip: '127.0.0.1', range: { min: 39200, max: 39203 }, comedia: true, ssrc: 3, hooks }),
    ).rejects.toThrow(/no free RTP port/);
  });
});
