import { mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeWav, parseWav, repairWavHeader, resample, wavHeader, WavError, wavToMono8k } from '../../../media/audio/wav.ts';
import { dominantFrequency, goertzelPower, rms, tone } from '../../support/audio.ts';

function rawWav(format: number, channels: number, rate: number, bits: number, data: Buffer, extensible = false): Buffer {
  const fmtLen = extensible ? 40 : 16;
  const fmt = Buffer.alloc(8 + fmtLen);
  fmt.write('fmt ', 0, 'ascii');
  fmt.writeUInt32LE(fmtLen, 4);
  fmt.writeUInt16LE(extensible ? 0xfffe : format, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE((rate * channels * bits) / 8, 16);
  fmt.writeUInt16LE((channels * bits) / 8, 20);
  fmt.writeUInt16LE(bits, 22);
  if (extensible) {
    fmt.writeUInt16LE(22, 24);
    fmt.writeUInt16LE(bits, 26);
    fmt.writeUInt16LE(format, 32); // SubFormat GUID's first two bytes carry the format tag
  }
  const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([4, 0, 0, 0]), Buffer.from('INFO')]);
  const dh = Buffer.alloc(8);
  dh.write('data', 0, 'ascii');
  dh.writeUInt32LE(data.length, 4);
  const body = Buffer.concat([Buffer.from('WAVE'), fmt, list, dh, data]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

describe('WAV', () => {
  it('reads 16-bit stereo 48 kHz and turns it into 8 kHz mono with the tone intact', () => {
    const l = tone(440, 500, { rate: 48000, amp: 10000 });
    const inter = new Int16Array(l.length * 2);
    for (let i = 0; i < l.length; i++) inter[2 * i] = inter[2 * i + 1] = l[i]!;
    const mono = wavToMono8k(encodeWav(48000, 2, inter));
    expect(mono.length).toBe(4000);
    const d = dominantFrequency(mono.subarray(400, 3600));
    expect(d.freq).toBe(440);
    expect(rms(mono.subarray(400, 3600))).toBeGreaterThan(6500); // ≈ 10000/√2, gain ≈ 1
  });

  it('does not alias 44.1 kHz content above 4 kHz into the telephone band', () => {
    const hf = tone(6000, 300, { rate: 44100, amp: 10000 }); // would alias to 2000 Hz
    const out = resample(hf, 44100, 8000);
    expect(rms(out.subarray(200, out.length - 200))).toBeLessThan(200);
    expect(goertzelPower(out, 2000)).toBeLessThan(
      goertzelPower(resample(tone(2000, 300, { rate: 44100, amp: 10000 }), 44100, 8000), 2000) / 1000,
    );
  });

  it('reads 8-bit unsigned, 24-bit, 32-bit, float, μ-law/A-law and WAVE_FORMAT_EXTENSIBLE', () => {
    const t = tone(1000, 100, { rate: 16000, amp: 12000 });
    const n = t.length;
    const d8 = Buffer.alloc(n),
      d24 = Buffer.alloc(n * 3),
      d32 = Buffer.alloc(n * 4),
      df = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) {
      d8[i] = (t[i]! >> 8) + 128;
      d24.writeIntLE(t[i]! << 8, i * 3, 3);
      d32.writeInt32LE(t[i]! << 16, i * 4);
      df.writeFloatLE(t[i]! / 32767, i * 4);
    }
    for (const w of [
      rawWav(1, 1, 16000, 8, d8),
      rawWav(1, 1, 16000, 24, d24),
      rawWav(1, 1, 16000, 32, d32),
      rawWav(3, 1, 16000, 32, df),
      rawWav(1, 1, 16000, 24, d24, true),
    ]) {
      const p = parseWav(w);
      expect(p.sampleRate).toBe(16000);
      expect(p.channels[0]!.length).toBe(n);
      expect(dominantFrequency(wavToMono8k(w)).freq).toBe(1000);
    }
    const mu = rawWav(7, 1, 8000, 8, Buffer.from([0xff, 0x80, 0x00]));
    expect([...parseWav(mu).channels[0]!]).toEqual([0, 32124, -32124]);
    const a = rawWav(6, 1, 8000, 8, Buffer.from([0xd5, 0x55]));
    expect([...parseWav(a).channels[0]!]).toEqual([8, -8]);
  });

  it('rejects broken or unsupported files with a WavError', () => {
    expect(() => parseWav(Buffer.from('hello world, not a wav'))).toThrow(WavError);
    expect(() => parseWav(Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE')]))).toThrow(/fmt/);
    expect(() => parseWav(rawWav(2, 1, 8000, 4, Buffer.alloc(10)))).toThrow(/unsupported/);
    expect(() => parseWav(rawWav(1, 0, 8000, 16, Buffer.alloc(10)))).toThrow(/channel/);
  });

  it('reads a truncated file whose header claims more data', () => {
    const w = encodeWav(8000, 1, tone(500, 100));
    const cut = w.subarray(0, 44 + 600);
    expect(parseWav(cut).channels[0]!.length).toBe(300);
  });

  it('repairWavHeader makes sizes match the file after a crash, and leaves good files alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wav-'));
    const p = join(dir, 'r.wav');
    writeFileSync(p, wavHeader(8000, 2, 0));
    appendFileSync(p, Buffer.alloc(4000 * 4 + 3)); // 4000 stereo frames + a torn frame
    expect(repairWavHeader(p)).toBe(true);
    const b = readFileSync(p);
    expect(b.readUInt32LE(40)).toBe(16000);
    expect(b.readUInt32LE(4)).toBe(36 + 16000);
    expect(parseWav(b).channels[1]!.length).toBe(4000);
    expect(repairWavHeader(p)).toBe(false);
  });
});
