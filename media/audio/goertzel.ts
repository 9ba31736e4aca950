/**
 * The Goertzel algorithm: the power of one frequency in a block of samples, far cheaper than an
 * FFT when only a few frequencies matter (DTMF's eight; a test's one tone).
 */

/** The coefficient 2·cos(2πf/rate), computed once per frequency. */
export function goertzelCoefficient(freq: number, rate: number): number {
  return 2 * Math.cos((2 * Math.PI * freq) / rate);
}

/** Power of the frequency whose coefficient is k over the samples x. */
export function goertzel(x: ArrayLike<number>, k: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i]! + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}
