import { describe, expect, it } from 'vitest';
import { decodeG711 } from '../../../media/audio/g711.ts';
import { g711Pcap, readPcapUdp, rtpFromPcap } from '../../../media/audio/pcap.ts';
import { dominantFrequency, tone } from '../../support/audio.ts';

describe('pcap', () => {
  it('writes a G.711 tone as RTP in a capture and reads the same audio back', () => {
    const pcap = g711Pcap(tone(1000, 400), 'PCMU');
    const dgrams = readPcapUdp(pcap);
    expect(dgrams).toHaveLength(20);
    expect(dgrams[1]!.at - dgrams[0]!.at).toBeCloseTo(20, 5);
    expect(dgrams[0]).toMatchObject({ srcIp: '127.0.0.1', dstIp: '127.0.0.1', dstPort: 30002 });
    const rtp = rtpFromPcap(pcap, 30002);
    expect(rtp.map((p) => p.sequenceNumber)).toEqual([...Array(20).keys()]);
    expect(rtp.every((p) => p.payloadType === 0 && p.payload.length === 160)).toBe(true);
    const pcm = decodeG711('PCMU', Buffer.concat(rtp.map((p) => p.payload)));
    expect(dominantFrequency(pcm).freq).toBe(1000);
    expect(rtpFromPcap(pcap, 9)).toHaveLength(0);
  });
  it('refuses a file that is not a capture and tolerates a truncated one', () => {
    expect(() => readPcapUdp(Buffer.from('not a pcap file at all, no'))).toThrow(/not a pcap/);
    const pcap = g711Pcap(tone(440, 100), 'PCMA');
    expect(readPcapUdp(pcap.subarray(0, pcap.length - 50))).toHaveLength(4);
  });
});
