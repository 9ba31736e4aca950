import { describe, expect, it } from 'vitest';
import { buildCompoundRtcp, ReceptionStats } from '../../../media/rtp/rtcp.ts';

describe('RTCP written by the relay', () => {
  it("counts loss and sequence wrap of the party's stream", () => {
    const r = new ReceptionStats();
    for (let s = 65530; s < 65536; s++) r.packet(42, s);
    for (let s = 0; s < 10; s++) if (s !== 3 && s !== 4) r.packet(42, s); // 2 lost after the wrap
    const b = r.reportBlock(0)!;
    expect(b.readUInt32BE(0)).toBe(42);
    expect(b.readUInt32BE(4) & 0xffffff).toBe(2); // cumulative lost
    expect(b[4]).toBe(Math.floor((2 << 8) / 16)); // fraction lost in the interval
    expect(b.readUInt32BE(8)).toBe(0x10000 + 9); // extended highest sequence number
    r.packet(42, 10);
    expect(r.reportBlock(0)![4]).toBe(0); // nothing lost since
  });

  it("echoes the party's last SR (LSR) with the delay since (DLSR)", () => {
    const r = new ReceptionStats();
    r.packet(7, 1);
    const sr = Buffer.alloc(28);
    sr.writeUInt32BE(0x11223344, 8);
    sr.writeUInt32BE(0x55667788, 12);
    r.senderReport(sr, 1000);
    const b = r.reportBlock(1500)!;
    expect(b.readUInt32BE(16)).toBe(0x33445566);
    expect(b.readUInt32BE(20)).toBe(32768); // 0.5 s in 1/65536 s
  });

  it('builds a valid compound SR + SDES (lengths in 32-bit words, CNAME)', () => {
    const r = new ReceptionStats();
    r.packet(9, 100);
    const pkt = buildCompoundRtcp({
      ssrc: 0xabc,
      cname: 'callcentre@x',
      nowMs: Date.UTC(2026, 0, 1),
      sender: { ssrc: 0xabc, rtpTimestamp: 1234, packets: 50, octets: 8000 },
      block: r.reportBlock(0)!,
    });
    expect(pkt[0]).toBe(0x81);
    expect(pkt[1]).toBe(200);
    const srLen = (pkt.readUInt16BE(2) + 1) * 4;
    expect(srLen).toBe(52);
    expect(pkt.readUInt32BE(20)).toBe(50);
    const sdes = pkt.subarray(srLen);
    expect(sdes[1]).toBe(202);
    expect((sdes.readUInt16BE(2) + 1) * 4).toBe(sdes.length);
    expect(sdes.length % 4).toBe(0);
    expect(sdes.toString('utf8', 10, 10 + sdes[9]!)).toBe('callcentre@x');
    const rr = buildCompoundRtcp({ ssrc: 1, cname: 'c', nowMs: 0 });
    expect(rr[1]).toBe(201);
    expect(rr[0]).toBe(0x80);
  });
});
