/**
 * ITU-T G.711 companding (μ-law "PCMU", A-law "PCMA"), the only codecs a carrier trunk is sure to
 * speak. Encoding goes through 64 Ki lookup tables (one per law) because the recorder, player and
 * in-band DTMF detector run it for every sample of every call.
 */

export type G711Law = 'PCMU' | 'PCMA';

/** Static RTP payload types from RFC 3551. */
export const G711_PAYLOAD_TYPE: Readonly<Record<G711Law, number>> = { PCMU: 0, PCMA: 8 };

/** The byte that decodes to (near) zero: what silence and comfort gaps are filled with. */
export const G711_SILENCE: Readonly<Record<G711Law, number>> = { PCMU: 0xff, PCMA: 0xd5 };

const BIAS = 0x84;
const CLIP = 32635;

export function linearToUlaw(sample: number): number {
  let s = sample | 0;
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

export function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const sign = u & 0x80;
  const exp = (u >> 4) & 7;
  const mant = u & 0x0f;
  const s = (((mant << 3) + BIAS) << exp) - BIAS;
  return sign ? -s | 0 : s; // `| 0`: 0x7f decodes to 0, not -0
}

export function linearToAlaw(sample: number): number {
  let s = sample | 0;
  let mask: number;
  if (s >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    s = -s - 1;
  }
  if (s > 32767) s = 32767;
  let seg = 0;
  // Segment ends (in 16-bit linear) of the 8 A-law chords.
  for (let end = 0xff; seg < 8 && s > end; end = (end << 1) | 1) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (s >> 4) & 0x0f : (s >> (seg + 3)) & 0x0f;
  return aval ^ mask;
}

export function alawToLinear(byte: number): number {
  const a = (byte ^ 0x55) & 0xff;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

function buildDecode(fn: (b: number) => number): Int16Array {
  const t = new Int16Array(256);
  for (let i = 0; i < 256; i++) t[i] = fn(i);
  return t;
}
function buildEncode(fn: (s: number) => number): Uint8Array {
  const t = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = fn(i - 32768);
  return t;
}

/** Byte → 16-bit linear sample, per law. */
const G711_DECODE: Readonly<Record<G711Law, Int16Array>> = {
  PCMU: buildDecode(ulawToLinear),
  PCMA: buildDecode(alawToLinear),
};
let encodeTables: Record<G711Law, Uint8Array> | undefined;
function encodeTable(law: G711Law): Uint8Array {
  // Built on first use: 128 KiB that pure-decode users (tests, tools) never need.
  encodeTables ??= { PCMU: buildEncode(linearToUlaw), PCMA: buildEncode(linearToAlaw) };
  return encodeTables[law];
}

/** Decode G.711 bytes to 16-bit linear PCM (into `out` if given, which must be long enough). */
export function decodeG711(law: G711Law, bytes: Uint8Array, out?: Int16Array): Int16Array {
  const o = out ?? new Int16Array(bytes.length);
  decodeG711At(law, bytes, 0, bytes.length, o, 0);
  return o;
}

/**
 * Decode `count` G.711 bytes of `src` from index `from` into `out` from index `at`: for hot paths
 * that read a payload in place inside a packet and write into a longer buffer (no subarrays).
 */
export function decodeG711At(law: G711Law, src: Uint8Array, from: number, count: number, out: Int16Array, at: number): void {
  const table = G711_DECODE[law];
  for (let i = 0; i < count; i++) out[at + i] = table[src[from + i]!]!;
}

/** Encode 16-bit linear PCM to G.711 bytes. */
export function encodeG711(law: G711Law, pcm: Int16Array, out?: Uint8Array): Uint8Array {
  const table = encodeTable(law);
  const o = out ?? new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) o[i] = table[pcm[i]! + 32768]!;
  return o;
}

/** Map an SDP/mediasoup mime type ("audio/PCMU", "pcma") to a law, or undefined. */
export function lawFromMime(mime: string): G711Law | undefined {
  const m = mime.toUpperCase().replace(/^AUDIO\//, '');
  return m === 'PCMU' || m === 'PCMA' ? m : undefined;
}
