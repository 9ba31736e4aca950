import { describe, expect, it } from 'vitest';
import { buildRtp, parseRtp, sequenceDiff, timestampDiff } from '../../../media/rtp/rtp.ts';
import { RtpSplicer } from '../../../media/rtp/rtpSplicer.ts';

function pkt(ssrc: number, seq: number, ts: number, pt = 0): Buffer {
  return buildRtp({ payloadType: pt, marker: false, sequenceNumber: seq, timestamp: ts, ssrc, payload: Buffer.alloc(160) });
}

describe('RtpSplicer', () => {
  it('makes one stream of several sources: one SSRC, consecutive sequence, timestamps keep real time', () => {
    let t = 1000;
    const sp = new RtpSplicer(0xcafe, () => t);
    const out: ReturnType<typeof parseRtp>[] = [];
    const send = (b: Buffer, src: string) => {
      sp.audio(b, src);
      out.push(parseRtp(b));
    };
    for (let i = 0; i < 5; i++, t += 20) send(pkt(111, 500 + i, 90000 + i * 160), 'agent');
    t += 100; // 100 ms of nothing (the bridge is rebuilt), then a prompt from another origin
    for (let i = 0; i < 5; i++, t += 20) send(pkt(222, 7 + i, 4_000_000_000 + i * 160), 'prompt');
    // the agent again, from a new mediasoup consumer (new SSRC, new numbering)
    for (let i = 0; i < 3; i++, t += 20) send(pkt(333, 60000 + i, 5 + i * 160), 'agent2');
    expect(new Set(out.map((p) => p!.ssrc))).toEqual(new Set([0xcafe]));
    for (let i = 1; i < out.length; i++) expect(sequenceDiff(out[i - 1]!.sequenceNumber, out[i]!.sequenceNumber)).toBe(1);
    const dts = out.slice(1).map((p, i) => timestampDiff(out[i]!.timestamp, p!.timestamp));
    expect(dts.slice(0, 4)).toEqual([160, 160, 160, 160]);
    expect(dts[4]).toBe(160 + 800); // 20 ms spacing + the 100 ms gap
    expect(dts.slice(5)).toEqual([160, 160, 160, 160, 160, 160, 160]);
    expect(out.map((p) => p!.marker)).toEqual([true, false, false, false, false, true, false, false, false, false, true, false, false]);
  });

  it("keeps a source's own timestamp spacing (gaps from loss upstream stay gaps)", () => {
    let t = 0;
    const sp = new RtpSplicer(1, () => t);
    const a = pkt(9, 1, 1000);
    const b = pkt(9, 3, 1320); // one packet lost upstream
    sp.audio(a, 's');
    t += 40;
    sp.audio(b, 's');
    expect(timestampDiff(parseRtp(a)!.timestamp, parseRtp(b)!.timestamp)).toBe(320);
  });

  it('stamps events with the audio timeline at the key press, shares the sequence', () => {
    let t = 0;
    const sp = new RtpSplicer(5, () => t);
    const a1 = pkt(9, 1, 0);
    sp.audio(a1, 's');
    t += 20;
    const start = sp.timeline();
    expect(timestampDiff(parseRtp(a1)!.timestamp, start)).toBe(160);
    const e1 = pkt(77, 1, 0, 101);
    sp.event(e1, start);
    const a2 = pkt(9, 2, 160);
    sp.audio(a2, 's');
    t += 20;
    const e2 = pkt(77, 2, 0, 101);
    sp.event(e2, start);
    const [p1, p2, p3] = [e1, a2, e2].map((b) => parseRtp(b)!);
    expect(p1!.timestamp).toBe(start);
    expect(p3!.timestamp).toBe(start);
    expect(p2!.timestamp).toBe(start); // audio at 20 ms is also "now" on the timeline
    expect(sequenceDiff(p1!.sequenceNumber, p2!.sequenceNumber)).toBe(1);
    expect(sequenceDiff(p2!.sequenceNumber, p3!.sequenceNumber)).toBe(1);
    expect(p1!.ssrc).toBe(5);
  });
});
