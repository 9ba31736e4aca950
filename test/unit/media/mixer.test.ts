/**
 * The G.711 mixer against hand-computed sums (constant signals whose μ-law/A-law codes decode to
 * the exact values used), saturation, jitter (missing and bursty input), the hear matrices of a
 * conference and of listen / whisper / barge, and with DTMF-row/column tones told apart by Goertzel.
 */
import { describe, expect, it } from 'vitest';
import { alawToLinear, decodeG711, encodeG711, linearToAlaw, linearToUlaw, ulawToLinear, type G711Law } from '../../../media/audio/g711.ts';
import { conferenceHears, MIX_FRAME, Mixer, monitorHears, type HearMatrix } from '../../../media/audio/mixer.ts';
import { goertzelPower, tone } from '../../support/audio.ts';

/** One 20 ms frame of a constant linear value, encoded. */
function constFrame(law: G711Law, v: number): Uint8Array {
  return encodeG711(law, new Int16Array(MIX_FRAME).fill(v));
}

/** Run one tick; each participant's output decoded. */
function tickOnce(m: Mixer): Map<string, Int16Array> {
  const out = new Map<string, Int16Array>();
  m.tick((id, f) => out.set(id, decodeG711(m.law, f)));
  return out;
}

function mixerOf(law: G711Law, matrix: HearMatrix): Mixer {
  const m = new Mixer(law);
  for (const [id, hears] of matrix) m.add(id, hears);
  return m;
}

/** μ-law round trip of a linear value: what the mix of a sum decodes to. */
const viaU = (v: number) => ulawToLinear(linearToUlaw(v));
const viaA = (v: number) => alawToLinear(linearToAlaw(v));

describe('Mixer sums', () => {
  // 1980, 2108 and 4092 are exact μ-law values (segments 4 and 5, mantissas 0 and 1).
  it('conference: each hears the sum of the other two, never itself (μ-law, hand-computed)', () => {
    expect([viaU(1980), viaU(2108), viaU(4092)]).toEqual([1980, 2108, 4092]);
    const m = mixerOf('PCMU', conferenceHears(['c', 'a', 's']));
    m.push('c', constFrame('PCMU', 1980));
    m.push('a', constFrame('PCMU', 2108));
    m.push('s', constFrame('PCMU', 4092));
    const out = tickOnce(m);
    // caller: 2108 + 4092 = 6200; agent: 1980 + 4092 = 6072; supervisor: 1980 + 2108 = 4088.
    expect(out.get('c')![0]).toBe(viaU(6200));
    expect(out.get('a')![0]).toBe(viaU(6072));
    expect(out.get('s')![0]).toBe(viaU(4088));
    for (const [id, exact] of [
      ['c', 6200],
      ['a', 6072],
      ['s', 4088],
    ] as const) {
      expect(Math.abs(out.get(id)![80]! - exact)).toBeLessThan(260); // within half a segment-6 step
      expect(new Set(out.get(id)).size).toBe(1); // the whole frame
    }
  });

  it('A-law, negative values, and a two-party mix (each hears the other only)', () => {
    const m = mixerOf('PCMA', conferenceHears(['x', 'y']));
    m.push('x', constFrame('PCMA', -1000));
    m.push('y', constFrame('PCMA', 3000));
    const out = tickOnce(m);
    expect(out.get('x')![0]).toBe(viaA(viaA(3000)));
    expect(out.get('y')![0]).toBe(viaA(viaA(-1000)));
    expect(Math.abs(out.get('x')![0]! - 3000)).toBeLessThan(70);
  });

  it('saturates at 16 bits instead of wrapping', () => {
    const m = mixerOf('PCMU', conferenceHears(['a', 'b', 'c']));
    m.push('a', constFrame('PCMU', 30000));
    m.push('b', constFrame('PCMU', 30000));
    m.push('c', constFrame('PCMU', -30000));
    const out = tickOnce(m);
    // a: 30000 - 30000 ≈ 0 (both decode to the same magnitude); c: ≈ 60000 → clipped to the top code.
    expect(out.get('a')![0]).toBe(0);
    expect(out.get('c')![0]).toBe(ulawToLinear(linearToUlaw(32767)));
    expect(out.get('c')![0]).toBeGreaterThan(30000);
  });

  it('a participant with no packet this tick contributes silence; a late packet is mixed on the next tick', () => {
    const m = mixerOf('PCMU', conferenceHears(['c', 'a', 's']));
    m.push('c', constFrame('PCMU', 1980));
    const first = tickOnce(m);
    expect(first.get('a')![0]).toBe(1980);
    expect(first.get('c')![0]).toBe(0); // nobody else spoke
    expect(m.stats.underruns).toBe(2);
    m.push('a', constFrame('PCMU', 2108));
    m.push('a', constFrame('PCMU', 4092)); // two frames at once (jitter): one per tick
    expect(tickOnce(m).get('c')![0]).toBe(2108);
    expect(tickOnce(m).get('c')![0]).toBe(4092);
    expect(tickOnce(m).get('c')![0]).toBe(0);
  });

  it('a burst beyond the buffer keeps only the newest audio (latency stays bounded)', () => {
    const m = new Mixer('PCMU', 2);
    m.add('a', ['b']);
    m.add('b', ['a']);
    for (const v of [8, 16, 24, 32]) m.push('a', constFrame('PCMU', v)); // exact segment-0 values
    expect(m.stats.overflowSamples).toBe(2 * MIX_FRAME);
    expect(tickOnce(m).get('b')![0]).toBe(24);
    expect(tickOnce(m).get('b')![0]).toBe(32);
    expect(tickOnce(m).get('b')![0]).toBe(0);
  });

  it('a backlog that lasts a second (a burst that never drains) is dropped to one frame', () => {
    const m = new Mixer('PCMU', 5);
    m.add('a', ['b']);
    m.add('b', ['a']);
    for (const v of [8, 16, 24]) m.push('a', constFrame('PCMU', v)); // a burst: 3 frames queued
    const heardB: number[] = [];
    for (let t = 0; t < 60; t++) {
      m.tick((id, f) => id === 'b' && heardB.push(decodeG711('PCMU', f)[0]!));
      m.push('a', constFrame('PCMU', 40 + 8 * (t % 2))); // then one frame per tick, in step
    }
    // x(t) is pushed after tick t. For the first second b hears three pushes late (the burst)...
    const x = (t: number) => 40 + 8 * (t % 2);
    expect(heardB.slice(0, 4)).toEqual([8, 16, 24, x(0)]);
    expect(heardB[45]).toBe(x(42));
    // ...then one frame of it is dropped: two pushes late (one frame of slack left for jitter).
    expect(m.stats.overflowSamples).toBe(MIX_FRAME);
    expect(heardB[55]).toBe(x(53));
    expect(heardB[59]).toBe(x(57));
  });

  it('packets that are not 20 ms (30 ms ptime) are re-framed into 20 ms', () => {
    const m = mixerOf('PCMU', conferenceHears(['a', 'b']));
    m.push('a', encodeG711('PCMU', new Int16Array(240).fill(40)));
    const t1 = tickOnce(m).get('b')!;
    const t2 = tickOnce(m).get('b')!;
    expect([...new Set(t1)]).toEqual([40]);
    expect(t2.slice(0, 80).every((s) => s === 40)).toBe(true);
    expect(t2.slice(80).every((s) => s === 0)).toBe(true);
  });

  it('a participant taken out is heard by nobody from the next tick; hears can change live', () => {
    const m = mixerOf('PCMU', conferenceHears(['c', 'a', 'b']));
    const feed = () => {
      m.push('c', constFrame('PCMU', 1980));
      m.push('a', constFrame('PCMU', 2108));
      m.push('b', constFrame('PCMU', 4092));
    };
    feed();
    expect(tickOnce(m).get('b')![0]).toBe(viaU(4088));
    m.remove('a');
    feed();
    const out = tickOnce(m);
    expect(out.has('a')).toBe(false);
    expect(out.get('b')![0]).toBe(1980);
    expect(out.get('c')![0]).toBe(4092);
    m.setHears('c', []);
    feed();
    expect(tickOnce(m).get('c')![0]).toBe(0);
  });
});

describe('hear matrices', () => {
  it('listen, whisper, barge', () => {
    const o = { parties: ['caller', 'agent'], supervisor: 'sup', agent: 'agent' };
    const sorted = (m: HearMatrix) => Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]));
    expect(sorted(monitorHears('listen', o))).toEqual({ caller: ['agent'], agent: ['caller'], sup: ['agent', 'caller'] });
    expect(sorted(monitorHears('whisper', o))).toEqual({ caller: ['agent'], agent: ['caller', 'sup'], sup: ['agent', 'caller'] });
    expect(sorted(monitorHears('barge', o))).toEqual({ caller: ['agent', 'sup'], agent: ['caller', 'sup'], sup: ['agent', 'caller'] });
  });
});

describe('tones through the hear matrix', () => {
  const CALLER = 697;
  const AGENT = 1209;
  const SUP = 1477;
  /** Mix 25 frames (0.5 s) of the three tones; each output's power at each tone frequency. */
  function run(matrix: HearMatrix, law: G711Law = 'PCMU'): Record<string, Record<number, number>> {
    const m = mixerOf(law, matrix);
    const src = { caller: tone(CALLER, 500, { amp: 6000 }), agent: tone(AGENT, 500, { amp: 6000 }), sup: tone(SUP, 500, { amp: 6000 }) };
    const heard: Record<string, Int16Array> = { caller: new Int16Array(4000), agent: new Int16Array(4000), sup: new Int16Array(4000) };
    for (let f = 0; f < 25; f++) {
      for (const [id, x] of Object.entries(src)) m.push(id, encodeG711(law, x.subarray(f * MIX_FRAME, (f + 1) * MIX_FRAME)));
      m.tick((id, frame) => heard[id]!.set(decodeG711(law, frame), f * MIX_FRAME));
    }
    return Object.fromEntries(
      Object.entries(heard).map(([id, x]) => [
        id,
        { [CALLER]: goertzelPower(x, CALLER), [AGENT]: goertzelPower(x, AGENT), [SUP]: goertzelPower(x, SUP) },
      ]),
    );
  }
  const o = { parties: ['caller', 'agent'], supervisor: 'sup', agent: 'agent' };
  /** Present: well above the quantisation noise a G.711 round trip leaves at another frequency. */
  const present = (p: number, ref: number) => p > ref / 10;
  const absent = (p: number, ref: number) => p < ref / 1000;

  it('whisper: the caller never hears the supervisor, the agent does; the supervisor hears both', () => {
    const r = run(monitorHears('whisper', o));
    const ref = r.agent![CALLER]!; // a tone heard at full level
    expect(ref).toBeGreaterThan(1e9);
    expect(absent(r.caller![SUP]!, ref)).toBe(true);
    expect(present(r.caller![AGENT]!, ref)).toBe(true);
    expect(present(r.agent![SUP]!, ref)).toBe(true);
    expect(present(r.sup![CALLER]!, ref) && present(r.sup![AGENT]!, ref)).toBe(true);
    expect(absent(r.sup![SUP]!, ref)).toBe(true);
  });

  it('listen: nobody hears the supervisor; barge: everyone does (A-law)', () => {
    const l = run(monitorHears('listen', o), 'PCMA');
    const ref = l.agent![CALLER]!;
    expect(absent(l.caller![SUP]!, ref) && absent(l.agent![SUP]!, ref)).toBe(true);
    expect(present(l.sup![CALLER]!, ref) && present(l.sup![AGENT]!, ref)).toBe(true);
    const b = run(monitorHears('barge', o), 'PCMA');
    expect(present(b.caller![SUP]!, ref) && present(b.agent![SUP]!, ref)).toBe(true);
    expect(present(b.caller![AGENT]!, ref) && present(b.agent![CALLER]!, ref)).toBe(true);
  });

  it('conference: each hears the other two and not itself', () => {
    const r = run(conferenceHears(['caller', 'agent', 'sup']));
    const ref = r.agent![CALLER]!;
    for (const [id, own] of [
      ['caller', CALLER],
      ['agent', AGENT],
      ['sup', SUP],
    ] as const) {
      expect(absent(r[id]![own]!, ref)).toBe(true);
      for (const f of [CALLER, AGENT, SUP].filter((x) => x !== own)) expect(present(r[id]![f]!, ref)).toBe(true);
    }
  });
});
