/**
 * RIFF/WAVE reading and writing. Prompts arrive as whatever the admin exported (44.1/48 kHz,
 * stereo, 8/16/24/32-bit, float, even G.711 WAVs); everything is turned into 8 kHz mono 16-bit
 * for the G.711 player. Recordings are written as 8 kHz 16-bit stereo WAVs whose header is kept
 * current while recording and repaired at start-up if the process died mid-call.
 */
import { openSync, readSync, writeSync, fstatSync, closeSync } from 'node:fs';
import { alawToLinear, ulawToLinear } from './g711.ts';

export class WavError extends Error {
  override name = 'WavError';
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_ALAW = 6;
const WAVE_FORMAT_MULAW = 7;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

interface WavAudio {
  sampleRate: number;
  /** One Int16Array per channel, all the same length. */
  channels: Int16Array[];
}

/** Parse a WAV file's bytes into 16-bit linear channels. Throws WavError on anything unusable. */
export function parseWav(buf: Buffer): WavAudio {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavError('not a RIFF/WAVE file');
  }
  let fmt: { format: number; channels: number; rate: number; bits: number; blockAlign: number } | undefined;
  let data: Buffer | undefined;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    // A recording cut off mid-write (or streamed with a 0xFFFFFFFF size) still plays: clamp.
    if (body + size > buf.length) size = buf.length - body;
    if (id === 'fmt ') {
      if (size < 16) throw new WavError('fmt chunk too short');
      let format = buf.readUInt16LE(body);
      const bits = buf.readUInt16LE(body + 14);
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= 26) format = buf.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        blockAlign: buf.readUInt16LE(body + 12),
        bits,
      };
    } else if (id === 'data') {
      data = buf.subarray(body, body + size);
    }
    off = body + size + (size & 1);
  }
  if (!fmt) throw new WavError('no fmt chunk');
  if (!data) throw new WavError('no data chunk');
  const { format, channels: nch, rate, bits } = fmt;
  if (nch < 1 || nch > 16) throw new WavError(`unsupported channel count ${nch}`);
  if (rate < 1000 || rate > 384000) throw new WavError(`unsupported sample rate ${rate}`);
  const bytesPer = bits / 8;
  const supported =
    (format === WAVE_FORMAT_PCM && [8, 16, 24, 32].includes(bits)) ||
    (format === WAVE_FORMAT_IEEE_FLOAT && (bits === 32 || bits === 64)) ||
    ((format === WAVE_FORMAT_ALAW || format === WAVE_FORMAT_MULAW) && bits === 8);
  if (!supported) throw new WavError(`unsupported WAV encoding (format ${format}, ${bits} bits)`);
  const frameBytes = bytesPer * nch;
  const frames = Math.floor(data.length / frameBytes);
  const channels = Array.from({ length: nch }, () => new Int16Array(frames));
  const read = sampleReader(format, bits, data);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < nch; c++) channels[c]![f] = read(f * frameBytes + c * bytesPer);
  }
  return { sampleRate: rate, channels };
}

function clamp16(x: number): number {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : Math.round(x);
}

function sampleReader(format: number, bits: number, d: Buffer): (at: number) => number {
  if (format === WAVE_FORMAT_MULAW) return (at) => ulawToLinear(d[at]!);
  if (format === WAVE_FORMAT_ALAW) return (at) => alawToLinear(d[at]!);
  if (format === WAVE_FORMAT_IEEE_FLOAT) {
    return bits === 32 ? (at) => clamp16(d.readFloatLE(at) * 32767) : (at) => clamp16(d.readDoubleLE(at) * 32767);
  }
  switch (bits) {
    case 8:
      return (at) => (d[at]! - 128) << 8; // 8-bit WAV is unsigned
    case 16:
      return (at) => d.readInt16LE(at);
    case 24:
      return (at) => d.readIntLE(at, 3) >> 8;
    default:
      return (at) => d.readInt32LE(at) >> 16;
  }
}

/** Average all channels into one. */
function downmix(channels: Int16Array[]): Int16Array {
  const first = channels[0];
  if (!first) return new Int16Array(0);
  if (channels.length === 1) return first;
  const out = new Int16Array(first.length);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (const ch of channels) s += ch[i]!;
    out[i] = clamp16(s / channels.length);
  }
  return out;
}

/**
 * Band-limited resampling by windowed sinc (Blackman window). The cutoff sits just below the lower
 * Nyquist so 44.1/48 kHz prompts do not alias into the telephone band when taken down to 8 kHz.
 */
export function resample(input: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) return input;
  const ratio = toRate / fromRate;
  const outLen = Math.floor(input.length * ratio);
  const out = new Int16Array(outLen);
  const cutoff = Math.min(1, ratio) * 0.92; // relative to the input Nyquist
  const halfTaps = Math.ceil(12 / cutoff);
  // The kernel is tabulated at 1/PHASES of an input sample: a 60 s MOH file would otherwise cost
  // ~10^8 trig calls.
  const PHASES = 512;
  const kernel = new Float64Array(2 * halfTaps * PHASES + 1);
  for (let i = 0; i < kernel.length; i++) {
    const x = i / PHASES - halfTaps;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
    const wpos = i / (kernel.length - 1);
    kernel[i] = sinc * (0.42 - 0.5 * Math.cos(2 * Math.PI * wpos) + 0.08 * Math.cos(4 * Math.PI * wpos));
  }
  for (let n = 0; n < outLen; n++) {
    const t = n / ratio; // position in input samples
    const centre = Math.floor(t);
    let acc = 0;
    let wsum = 0;
    const lo = Math.max(0, centre - halfTaps + 1);
    const hi = Math.min(input.length - 1, centre + halfTaps);
    for (let k = lo; k <= hi; k++) {
      const w = kernel[Math.round((t - k + halfTaps) * PHASES)] ?? 0;
      acc += input[k]! * w;
      wsum += w;
    }
    // Normalising by the tap sum keeps DC gain exactly 1 including at the file's edges.
    out[n] = clamp16(wsum === 0 ? 0 : acc / wsum);
  }
  return out;
}

/** Any WAV → 8 kHz mono 16-bit, the player's input. */
export function wavToMono8k(buf: Buffer): Int16Array {
  const wav = parseWav(buf);
  return resample(downmix(wav.channels), wav.sampleRate, 8000);
}

export const WAV_HEADER_BYTES = 44;

/** A canonical 44-byte PCM 16-bit header for `dataBytes` of sample data. */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
  return h;
}

/** Encode interleaved 16-bit samples as a complete WAV file. */
export function encodeWav(sampleRate: number, channels: number, interleaved: Int16Array): Buffer {
  const data = Buffer.from(interleaved.buffer, interleaved.byteOffset, interleaved.byteLength);
  return Buffer.concat([wavHeader(sampleRate, channels, data.length), data]);
}

/**
 * Make a canonical-header WAV's RIFF and data sizes agree with the file's length (a recording
 * whose writer died keeps the sizes of its last header update). Returns true if it changed the
 * file. Files this project did not write (non-canonical layout) are left alone.
 */
export function repairWavHeader(path: string): boolean {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size < WAV_HEADER_BYTES) return false;
    const h = Buffer.alloc(WAV_HEADER_BYTES);
    readSync(fd, h, 0, WAV_HEADER_BYTES, 0);
    if (h.toString('ascii', 0, 4) !== 'RIFF' || h.toString('ascii', 36, 40) !== 'data') return false;
    const blockAlign = h.readUInt16LE(32) || 1;
    const dataBytes = size - WAV_HEADER_BYTES - ((size - WAV_HEADER_BYTES) % blockAlign);
    if (h.readUInt32LE(40) === dataBytes && h.readUInt32LE(4) === 36 + dataBytes) return false;
    const fix = Buffer.alloc(4);
    fix.writeUInt32LE(36 + dataBytes);
    writeSync(fd, fix, 0, 4, 4);
    fix.writeUInt32LE(dataBytes);
    writeSync(fd, fix, 0, 4, 40);
    return true;
  } finally {
    closeSync(fd);
  }
}
