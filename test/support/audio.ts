/**
 * Audio helpers for tests: tone/DTMF/noise generators and Goertzel checks over 16-bit linear
 * audio. The codec code itself lives in media/ (G.711, WAV); this file only builds and judges
 * test signals.
 */
import { parseWav } from '../../media/audio/wav.ts';

export { decodeG711, encodeG711 } from '../../media/audio/g711.ts';
import { goertzel, goertzelCoefficient } from '../../media/audio/goertzel.ts';
export { encodeWav, parseWav, wavToMono8k } from '../../media/audio/wav.ts';

/** Sine tone(s) summed, `ms` long at `rate`, each of amplitude `amp`. */
export function tone(freqs: number | number[], ms: number, opts: { rate?: number; amp?: number; phase?: number } = {}): Int16Array {
  const rate = opts.rate ?? 8000;
  const amp = opts.amp ?? 8000;
  const fs = Array.isArray(freqs) ? freqs : [freqs];
  const n = Math.round((ms * rate) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const f of fs) s += amp * Math.sin((2 * Math.PI * f * i) / rate + (opts.phase ?? 0));
    out[i] = Math.max(-32768, Math.min(32767, Math.round(s)));
  }
  return out;
}

export function silence(ms: number, rate = 8000): Int16Array {
  return new Int16Array(Math.round((ms * rate) / 1000));
}

const DTMF_FREQS: Record<string, [number, number]> = {};
'123A|456B|789C|*0#D'
  .split('|')
  .forEach((row, r) => [...row].forEach((k, c) => (DTMF_FREQS[k] = [[697, 770, 852, 941][r]!, [1209, 1336, 1477, 1633][c]!])));

/** A DTMF key as a dual tone at 8 kHz (each tone `amp`, default ≈ −10 dBm0). */
export function dtmfTone(key: string, ms: number, amp = 4000): Int16Array {
  const f = DTMF_FREQS[key];
  if (!f) throw new Error(`no DTMF key ${key}`);
  return tone(f, ms, { amp });
}

/** Deterministic white noise (xorshift) of RMS ≈ `rms`. */
export function noise(samples: number, rms: number, seed = 1): Int16Array {
  let x = seed >>> 0 || 1;
  const out = new Int16Array(samples);
  const scale = rms * Math.sqrt(3); // uniform in [-a, a] has RMS a/√3
  for (let i = 0; i < samples; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = Math.round(((x / 0xffffffff) * 2 - 1) * scale);
  }
  return out;
}

export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Sample-wise sum, clamped. */
export function mix(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, (a[i] ?? 0) + (b[i] ?? 0)));
  return out;
}

export function goertzelPower(x: ArrayLike<number>, freq: number, rate = 8000): number {
  return goertzel(x, goertzelCoefficient(freq, rate));
}

export function rms(x: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i]! * x[i]!;
  return x.length ? Math.sqrt(e / x.length) : 0;
}

/**
 * The strongest frequency in [fmin, fmax] (step Hz) and how far it stands above the sweep's mean
 * power: a clean tone gives a ratio in the hundreds, speech or noise a ratio near 1–10.
 */
export function dominantFrequency(x: ArrayLike<number>, rate = 8000, fmin = 100, fmax = 3800, step = 10) {
  let best = { freq: 0, power: 0 };
  let sum = 0;
  let n = 0;
  for (let f = fmin; f <= fmax; f += step) {
    const p = goertzelPower(x, f, rate);
    sum += p;
    n++;
    if (p > best.power) best = { freq: f, power: p };
  }
  return { freq: best.freq, ratio: best.power / (sum / n || 1), rms: rms(x) };
}

/** Split an interleaved stereo WAV into its two channels. */
export function readStereoWav(buf: Buffer): { left: Int16Array; right: Int16Array; rate: number } {
  const w = parseWav(buf);
  return { left: w.channels[0]!, right: w.channels[1] ?? new Int16Array(0), rate: w.sampleRate };
}

/** Log-energy of each `frame`-sample frame (20 ms at 8 kHz). */
function envelope(x: Int16Array, frame = 160): number[] {
  const e: number[] = [];
  for (let i = 0; i + frame <= x.length; i += frame) {
    let s = 0;
    for (let k = 0; k < frame; k++) s += x[i + k]! * x[i + k]!;
    e.push(Math.log10(1 + s / frame));
  }
  return e;
}

/** Zero mean, unit length. */
function normalise(v: number[]): number[] {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const d = v.map((x) => x - m);
  const n = Math.sqrt(d.reduce((a, b) => a + b * b, 0)) || 1;
  return d.map((x) => x / n);
}

/**
 * Is the whole of `ref` somewhere inside `rx`? The best normalised correlation of ref's envelope
 * with any stretch of rx's of the same length (unlike envelopeMatch, no partial overlap at the
 * edges counts), ≈1 when rx contains ref.
 */
export function envelopeFind(rx: Int16Array, ref: Int16Array, frame = 160): number {
  const a = envelope(rx, frame);
  const B = normalise(envelope(ref, frame));
  let best = -1;
  for (let off = 0; off + B.length <= a.length; off++) {
    const A = normalise(a.slice(off, off + B.length));
    let c = 0;
    for (let i = 0; i < B.length; i++) c += A[i]! * B[i]!;
    best = Math.max(best, c);
  }
  return best;
}

/**
 * Speech check: the best normalised cross-correlation of 20 ms log-energy envelopes of `rx`
 * against `ref` over all lags (alignment is unknown). ≈1 for the same speech, ≈0 for another.
 */
export function envelopeMatch(rx: Int16Array, ref: Int16Array, frame = 160): { corr: number; lagFrames: number } {
  const norm = normalise;
  const a = envelope(rx, frame);
  const b = envelope(ref, frame);
  const L = Math.min(a.length, b.length);
  let best = { corr: -1, lagFrames: 0 };
  // slide the reference over the received envelope
  for (let lag = -(b.length - 1); lag < a.length; lag++) {
    const lo = Math.max(0, lag);
    const hi = Math.min(a.length, lag + b.length);
    if (hi - lo < L * 0.8) continue;
    const A = norm(a.slice(lo, hi));
    const B = norm(b.slice(lo - lag, hi - lag));
    let c = 0;
    for (let i = 0; i < A.length; i++) c += A[i]! * B[i]!;
    if (c > best.corr) best = { corr: c, lagFrames: lag };
  }
  return best;
}
