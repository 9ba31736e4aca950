/**
 * RIFF/WAVE (16-bit linear PCM) read and write, and resampling to the telephony rate. Prompts are
 * stored as 8 kHz mono so the media layer can encode G.711 without converting at call time.
 */

export interface Pcm {
  sampleRate: number;
  /** Mono samples, -32768..32767. */
  samples: Int16Array;
}

export function parseWav(buf: Buffer): Pcm {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    // espeak-ng writes 0x7fffffff sizes when streaming; clamp to the buffer.
    const size = Math.min(buf.readUInt32LE(off + 4), buf.length - off - 8);
    const body = off + 8;
    if (id === 'fmt ') {
      fmt = { format: buf.readUInt16LE(body), channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAVE data before fmt chunk');
      if (fmt.format !== 1 || fmt.bits !== 16) throw new Error(`unsupported WAVE encoding (format ${fmt.format}, ${fmt.bits} bits): need 16-bit PCM`);
      const frames = Math.floor(size / (2 * fmt.channels));
      const samples = new Int16Array(frames);
      for (let i = 0; i < frames; i++) {
        let acc = 0;
        for (let c = 0; c < fmt.channels; c++) acc += buf.readInt16LE(body + (i * fmt.channels + c) * 2);
        samples[i] = Math.round(acc / fmt.channels);
      }
      return { sampleRate: fmt.rate, samples };
    }
    off = body + size + (size & 1);
  }
  throw new Error('WAVE file has no data chunk');
}

export function writeWav(pcm: Pcm): Buffer {
  const dataLen = pcm.samples.length * 2;
  const b = Buffer.alloc(44 + dataLen);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + dataLen, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(pcm.sampleRate, 24);
  b.writeUInt32LE(pcm.sampleRate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(dataLen, 40);
  for (let i = 0; i < pcm.samples.length; i++) b.writeInt16LE(pcm.samples[i]!, 44 + i * 2);
  return b;
}

/**
 * Windowed-sinc resampler. The cut-off sits below the lower Nyquist frequency so speech sampled
 * at 22.05 kHz does not alias into the 8 kHz band.
 */
export function resample(pcm: Pcm, rate: number): Pcm {
  if (pcm.sampleRate === rate) return pcm;
  const ratio = rate / pcm.sampleRate;
  const cutoff = 0.95 * Math.min(1, ratio);
  const half = 16;
  const n = Math.floor(pcm.samples.length * ratio);
  const out = new Int16Array(n);
  const src = pcm.samples;
  for (let i = 0; i < n; i++) {
    const t = i / ratio;
    const c = Math.floor(t);
    let acc = 0;
    let wsum = 0;
    for (let k = c - Math.ceil(half / cutoff) + 1; k <= c + Math.ceil(half / cutoff); k++) {
      if (k < 0 || k >= src.length) continue;
      const x = (t - k) * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const win = 0.5 + 0.5 * Math.cos((Math.PI * x) / half);
      const w = Math.abs(x) < half ? sinc * win : 0;
      acc += src[k]! * w;
      wsum += w;
    }
    out[i] = Math.max(-32768, Math.min(32767, Math.round(wsum ? acc / wsum : 0)));
  }
  return { sampleRate: rate, samples: out };
}

/** A gentle music-on-hold loop: a slow arpeggio of soft sine chords with smooth envelopes. */
export function synthesizeHoldMusic(seconds = 16, rate = 8000): Pcm {
  const chords = [
    [261.63, 329.63, 392.0],
    [220.0, 261.63, 329.63],
    [174.61, 220.0, 261.63],
    [196.0, 246.94, 293.66],
  ];
  const noteLen = 0.5;
  const samples = new Int16Array(Math.floor(seconds * rate));
  for (let i = 0; i < samples.length; i++) {
    const t = i / rate;
    const step = Math.floor(t / noteLen);
    const chord = chords[Math.floor(step / 4) % chords.length]!;
    const freq = chord[step % 3]! * (step % 4 === 3 ? 2 : 1);
    const local = t - step * noteLen;
    const env = Math.sin((Math.PI * local) / noteLen) ** 2;
    // The pad swells within each chord so chord changes and the loop point carry no click.
    const chordPos = (t % (4 * noteLen)) / (4 * noteLen);
    const pad = (Math.sin(Math.PI * chordPos) ** 2 * chord.reduce((a, f) => a + Math.sin(2 * Math.PI * f * t), 0)) / chord.length;
    const v = 0.22 * env * Math.sin(2 * Math.PI * freq * t) + 0.06 * pad;
    samples[i] = Math.round(v * 32767);
  }
  return { sampleRate: rate, samples };
}
