/**
 * Audio-level meters for the agent's microphone and speaker: a WebAudio AnalyserNode on the local
 * and on the remote MediaStream, read once per animation frame (requestAnimationFrame, so nothing
 * runs while the tab is hidden, and the loop stops while no meter has a stream).
 *
 * Accessible: each meter is role="meter" with aria-valuenow (0–100), aria-valuetext in dBFS and a
 * visible dB figure, so the level is never told by colour alone. The maths (levelOf, meterValue,
 * smooth) is pure and unit-tested.
 */

/** dBFS shown as an empty meter: quieter than this is silence for an agent's purposes. */
export const FLOOR_DB = -60;

/** RMS and peak of float samples (-1..1), and the RMS in dBFS (FLOOR_DB for silence). */
export function levelOf(samples: ArrayLike<number>): { rms: number; peak: number; db: number } {
  let sum = 0;
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    sum += s * s;
    const a = Math.abs(s);
    if (a > peak) peak = a;
  }
  const rms = samples.length ? Math.sqrt(sum / samples.length) : 0;
  return { rms, peak, db: toDb(rms) };
}

/** RMS (full scale 1) as dBFS, never below FLOOR_DB. */
export function toDb(rms: number): number {
  return rms > 0 ? Math.max(FLOOR_DB, 20 * Math.log10(rms)) : FLOOR_DB;
}

/** A dBFS level as the meter's 0–100 value: FLOOR_DB → 0, 0 dBFS → 100, linear in dB. */
export function meterValue(db: number, floor = FLOOR_DB): number {
  if (!(db > floor)) return 0;
  return Math.round(Math.min(100, ((db - floor) / -floor) * 100));
}

/**
 * Meter ballistics: rises fast (attack), falls slowly (release), as VU/PPM meters do, so a syllable
 * is seen and the bar does not flicker. `dtMs` is the time since the last frame.
 */
export function smooth(prev: number, next: number, dtMs: number, attackMs = 20, releaseMs = 300): number {
  const tau = next > prev ? attackMs : releaseMs;
  const k = 1 - Math.exp(-Math.max(0, dtMs) / tau);
  return prev + (next - prev) * k;
}

/** One meter on the page: a role="meter" element with a bar and a dB figure inside. */
export class LevelMeter {
  /** The smoothed level now, dBFS; the highest seen since reset (tests and the echo test read them). */
  db = FLOOR_DB;
  peakDb = FLOOR_DB;
  private analyser: AnalyserNode | undefined;
  private source: MediaStreamAudioSourceNode | undefined;
  private buf: Float32Array<ArrayBuffer> = new Float32Array(1024);
  private readonly bar: HTMLElement;
  private readonly figure: HTMLElement;

  constructor(
    readonly el: HTMLElement,
    private readonly label: string,
  ) {
    el.setAttribute('role', 'meter');
    el.setAttribute('aria-label', label);
    el.setAttribute('aria-valuemin', '0');
    el.setAttribute('aria-valuemax', '100');
    el.classList.add('level-meter');
    const track = document.createElement('span');
    track.className = 'level-track';
    this.bar = document.createElement('span');
    this.bar.className = 'level-bar';
    track.append(this.bar);
    this.figure = document.createElement('span');
    this.figure.className = 'level-db';
    this.figure.setAttribute('aria-hidden', 'true');
    el.replaceChildren(track, this.figure);
    this.show();
  }

  /** Measure this stream's first audio track (undefined: stop measuring, show silence). */
  attach(stream: MediaStream | undefined): void {
    this.source?.disconnect();
    this.source = undefined;
    this.analyser = undefined;
    if (stream && stream.getAudioTracks().length > 0) {
      const ctx = audioContext();
      this.analyser = ctx.createAnalyser();
      this.analyser.fftSize = 1024;
      this.buf = new Float32Array(this.analyser.fftSize);
      this.source = ctx.createMediaStreamSource(stream);
      this.source.connect(this.analyser);
      if (ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
      meters.add(this);
      loop();
    } else {
      meters.delete(this);
      this.db = FLOOR_DB;
      this.show();
    }
  }

  get attached(): boolean {
    return this.analyser !== undefined;
  }

  /** For diagnosis: the AudioContext's state and how many frames were drawn. */
  get debug(): { context: string | undefined; frames: number; db: number } {
    return { context: this.analyser?.context.state, frames: this.frames, db: this.db };
  }
  private frames = 0;

  resetPeak(): void {
    this.peakDb = FLOOR_DB;
  }

  /** One frame: read the analyser, smooth, draw. */
  tick(dtMs: number): void {
    if (!this.analyser) return;
    this.frames++;
    this.analyser.getFloatTimeDomainData(this.buf);
    const raw = levelOf(this.buf).db;
    this.db = smooth(this.db, raw, dtMs);
    if (raw > this.peakDb) this.peakDb = raw;
    this.show();
  }

  private show(): void {
    const v = meterValue(this.db);
    const db = Math.round(this.db);
    this.el.setAttribute('aria-valuenow', String(v));
    this.el.setAttribute('aria-valuetext', v === 0 ? `${this.label}: silent` : `${this.label}: ${db} dB`);
    this.el.dataset.level = v === 0 ? 'silent' : v < 30 ? 'low' : v < 90 ? 'good' : 'loud';
    // CSSOM, not a style attribute: allowed by the page's Content-Security-Policy.
    this.bar.style.setProperty('--level', String(v / 100));
    this.figure.textContent = v === 0 ? 'silent' : `${db} dB`;
  }
}

let ctxShared: AudioContext | undefined;
/** One AudioContext for every meter (browsers limit how many a page may open). */
export function audioContext(): AudioContext {
  ctxShared ??= new AudioContext();
  return ctxShared;
}

const meters = new Set<LevelMeter>();
let frame = 0;
let last = 0;

function loop(): void {
  if (frame || meters.size === 0) return;
  last = performance.now();
  const step = (t: number): void => {
    frame = 0;
    const dt = t - last;
    last = t;
    for (const m of meters) m.tick(dt);
    // requestAnimationFrame does not fire in a hidden tab: the meters cost nothing there.
    if (meters.size > 0) frame = requestAnimationFrame(step);
  };
  frame = requestAnimationFrame(step);
}
