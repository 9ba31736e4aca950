/**
 * In-band DTMF (ITU-T Q.23 tone pairs) detection on 8 kHz linear audio, for trunks that send
 * neither RFC 4733 events nor SIP INFO. Goertzel filters on 102-sample blocks (12.75 ms, the
 * length Asterisk and spandsp use: resolves the 73 Hz row spacing while staying short enough to
 * catch Q.24's 40 ms minimum tone).
 *
 * A block is a "hit" for a key when one row and one column tone stand clearly above the others,
 * their levels are within the twist limits, and together they carry most of the block's energy
 * (speech and noise spread energy; DTMF concentrates it). A key is reported after two consecutive
 * hits and released after two consecutive non-hits, so one dropped block inside a tone (a lost
 * packet filled with silence) does not report the key twice, while Q.24's 40 ms inter-digit pause
 * always spans two whole blocks.
 */
import { goertzel, goertzelCoefficient } from './goertzel.ts';

const RATE = 8000;
const DTMF_BLOCK = 102;
const ROWS = [697, 770, 852, 941];
const COLS = [1209, 1336, 1477, 1633];
const KEYS = ['123A', '456B', '789C', '*0#D'];

const ROW_K = ROWS.map((f) => goertzelCoefficient(f, RATE));
const COL_K = COLS.map((f) => goertzelCoefficient(f, RATE));

interface DtmfDetectorOptions {
  /** Minimum amplitude (16-bit linear) of each tone. Default 400 ≈ −38 dBm0. */
  minAmplitude?: number;
  /** Max dB by which the column tone may be weaker than the row tone ("normal twist"). Default 8. */
  normalTwistDb?: number;
  /** Max dB by which the row tone may be weaker than the column tone. Default 6. */
  reverseTwistDb?: number;
  /** Min dB between the strongest and the next tone in its group. Default 6. */
  relativePeakDb?: number;
  /** Min share of the block's energy held by the two tones. Default 0.6. */
  minToneShare?: number;
}

export interface DtmfDetection {
  digit: string;
  /** Sample index (since the detector was created) where the first hit block started. */
  atSample: number;
}

export class DtmfDetector {
  private readonly block = new Float64Array(DTMF_BLOCK);
  private readonly rows = new Float64Array(4);
  private readonly cols = new Float64Array(4);
  private fill = 0;
  private samplesSeen = 0;
  private candidate: string | undefined;
  private candidateHits = 0;
  private candidateStart = 0;
  private current: string | undefined; // key reported and not yet released
  private misses = 0;
  private readonly minPower: number;
  private readonly normalTwist: number;
  private readonly reverseTwist: number;
  private readonly relPeak: number;
  private readonly minShare: number;

  constructor(
    private readonly onDigit: (d: DtmfDetection) => void,
    opts: DtmfDetectorOptions = {},
  ) {
    const amp = opts.minAmplitude ?? 400;
    // Goertzel power of a pure tone of amplitude A over N samples ≈ (A·N/2)².
    this.minPower = ((amp * DTMF_BLOCK) / 2) ** 2;
    this.normalTwist = 10 ** ((opts.normalTwistDb ?? 8) / 10);
    this.reverseTwist = 10 ** ((opts.reverseTwistDb ?? 6) / 10);
    this.relPeak = 10 ** ((opts.relativePeakDb ?? 6) / 10);
    this.minShare = opts.minToneShare ?? 0.6;
  }

  /** Feed audio of any length; digits are reported through the callback as they are confirmed. */
  process(samples: Int16Array): void {
    for (let i = 0; i < samples.length; i++) {
      this.block[this.fill++] = samples[i]!;
      if (this.fill === DTMF_BLOCK) {
        this.fill = 0;
        this.onBlock(this.classify(), this.samplesSeen + i + 1 - DTMF_BLOCK);
      }
    }
    this.samplesSeen += samples.length;
  }

  private onBlock(key: string | undefined, blockStart: number): void {
    if (this.current !== undefined) {
      if (key === this.current) {
        this.misses = 0;
        return;
      }
      if (++this.misses < 2) return; // one odd block inside a tone is a dropout, not a release
      this.current = undefined;
    }
    if (key === undefined) {
      this.candidate = undefined;
      this.candidateHits = 0;
      return;
    }
    if (key === this.candidate) {
      this.candidateHits++;
    } else {
      this.candidate = key;
      this.candidateHits = 1;
      this.candidateStart = blockStart;
    }
    if (this.candidateHits >= 2) {
      this.current = key;
      this.misses = 0;
      this.candidate = undefined;
      this.candidateHits = 0;
      this.onDigit({ digit: key, atSample: this.candidateStart });
    }
  }

  private classify(): string | undefined {
    const b = this.block;
    let energy = 0;
    for (let i = 0; i < DTMF_BLOCK; i++) energy += b[i]! * b[i]!;
    // No frequency's Goertzel power exceeds N·energy (Cauchy–Schwarz): a block too quiet to hold
    // a tone of the minimum level (silence, most of a call) skips the eight filters.
    if (energy * DTMF_BLOCK < this.minPower) return undefined;
    const rows = this.rows;
    const cols = this.cols;
    for (let i = 0; i < 4; i++) {
      rows[i] = goertzel(b, ROW_K[i]!);
      cols[i] = goertzel(b, COL_K[i]!);
    }
    const r = argmax(rows);
    const c = argmax(cols);
    const rp = rows[r]!;
    const cp = cols[c]!;
    if (rp < this.minPower || cp < this.minPower) return undefined;
    if (cp > rp * this.reverseTwist || rp > cp * this.normalTwist) return undefined;
    for (let i = 0; i < 4; i++) {
      if (i !== r && rows[i]! * this.relPeak > rp) return undefined;
      if (i !== c && cols[i]! * this.relPeak > cp) return undefined;
    }
    // A tone of amplitude A has block energy A²N/2 and Goertzel power (AN/2)², so the tone's share
    // of the block energy is power·2/N divided by the total.
    const share = ((rp + cp) * 2) / DTMF_BLOCK / (energy || 1);
    if (share < this.minShare) return undefined;
    return KEYS[r]![c];
  }
}

function argmax(v: Float64Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}
