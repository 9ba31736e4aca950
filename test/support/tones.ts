/**
 * Who hears whom in a call with several parties (conference, monitor, transfers): each party sends
 * its own tone and receives RTP on its own port range; a phase captures every range off loopback
 * (tcpdump) and measures, per party, the amplitude of every tone in what it received — the median
 * over 80 ms blocks, so a short glitch or a gap does not decide. `on`/`off` are the thresholds the
 * tests judge by (G.711 amplitude units of a full-scale-ish tone vs. leakage and noise).
 */
import { decodeG711 } from '../../media/audio/g711.ts';
import { readPcapUdp } from '../../media/audio/pcap.ts';
import { parseRtp } from '../../media/rtp/rtp.ts';
import { goertzelPower } from './audio.ts';
import { captureUdpRanges } from './tcpdump.ts';

export type PortRanges = Record<string, readonly [number, number]>;
/** Per party, per tone frequency: the median amplitude (-1: under 10 blocks of audio received). */
export type Heard = Record<string, Record<number, number>>;

/** Per party (by its RTP port range), the amplitude of each of `freqs` in the PCMU it received. */
export function judgeTones(pcap: Buffer, ranges: PortRanges, freqs: readonly number[]): Heard {
  const grams = readPcapUdp(pcap);
  const out: Heard = {};
  for (const [who, [lo, hi]] of Object.entries(ranges)) {
    const pkts = grams.filter((d) => d.dstPort >= lo && d.dstPort <= hi).flatMap((d) => parseRtp(d.payload) ?? []);
    const x = decodeG711('PCMU', Buffer.concat(pkts.filter((p) => p.payloadType === 0).map((p) => p.payload)));
    out[who] = toneAmplitudes(x, freqs);
  }
  return out;
}

/**
 * Per tone frequency, the median amplitude over 80 ms blocks of 8 kHz linear audio (a recording's
 * channel, decoded RTP); -1 under 10 blocks. Judged by the same `on`/`off` thresholds.
 */
export function toneAmplitudes(x: Int16Array, freqs: readonly number[]): Record<number, number> {
  const blk = 640;
  return Object.fromEntries(
    freqs.map((f) => {
      const amps: number[] = [];
      for (let i = 0; i + blk <= x.length; i += blk) amps.push((2 * Math.sqrt(goertzelPower(x.subarray(i, i + blk), f))) / blk);
      amps.sort((p, q) => p - q);
      return [f, amps.length >= 10 ? amps[amps.length >> 1]! : -1];
    }),
  );
}

/** Listen to every party for `ms` (after 300 ms for a change to land) and judge what each heard. */
export async function listenPhase(ranges: PortRanges, freqs: readonly number[], ms = 1500): Promise<Heard> {
  await new Promise((r) => setTimeout(r, 300));
  const cap = await captureUdpRanges(Object.values(ranges));
  await new Promise((r) => setTimeout(r, ms));
  return judgeTones(await cap.stop(), ranges, freqs);
}

/** The tone is clearly there. */
export const on = (a: number | undefined): boolean => (a ?? 0) > 1500;
/** Audio arrived, and the tone is not in it (leakage, noise). */
export const off = (a: number | undefined): boolean => a !== undefined && a >= 0 && a < 200;
/** A Heard, rounded, for an assertion's message. */
export const show = (r: unknown): string => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v));
