/**
 * The demo centre's music on hold, made rather than shipped: `callcentre ivr prompts` writes it as
 * an 8 kHz mono WAV (media/wav.ts encodes it) when the configured file is missing.
 */

/** A gentle music-on-hold loop: a slow arpeggio of soft sine chords with smooth envelopes. */
export function synthesizeHoldMusic(seconds = 16, rate = 8000): Int16Array {
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
  return samples;
}
