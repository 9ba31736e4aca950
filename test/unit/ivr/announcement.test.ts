import { describe, expect, it } from 'vitest';
import { ANNOUNCEMENT_PARTS, announcerFor, composeAnnouncement, numberWords, PositionAnnouncer } from '../../../server/ivr/announcement.ts';
import type { TtsProvider } from '../../../server/ivr/tts.ts';

describe('numberWords', () => {
  it('says numbers as the prerendered words', () => {
    expect(numberWords(0)).toEqual(['n0']);
    expect(numberWords(7)).toEqual(['n7']);
    expect(numberWords(19)).toEqual(['n19']);
    expect(numberWords(20)).toEqual(['n20']);
    expect(numberWords(21)).toEqual(['n20', 'n1']);
    expect(numberWords(100)).toEqual(['n1', 'hundred']);
    expect(numberWords(305)).toEqual(['n3', 'hundred', 'n5']);
    expect(numberWords(1500)).toEqual(['n1', 'thousand', 'n5', 'hundred']);
    expect(numberWords(12_019)).toEqual(['n12', 'thousand', 'n19']);
    expect(numberWords(999_999)).toEqual(['n9', 'hundred', 'n90', 'n9', 'thousand', 'n9', 'hundred', 'n90', 'n9']);
    expect(() => numberWords(1_000_000)).toThrow(RangeError);
    expect(() => numberWords(-1)).toThrow(RangeError);
    expect(() => numberWords(1.5)).toThrow(RangeError);
  });

  it('uses only parts that are rendered ahead', () => {
    for (let n = 0; n < 3000; n += 7) for (const p of numberWords(n)) expect(ANNOUNCEMENT_PARTS[p], `${n}: ${p}`).toBeDefined();
  });
});

describe('composeAnnouncement', () => {
  it('position, expected wait in whole minutes (at least one), callback key', () => {
    expect(composeAnnouncement({ position: 12 })).toEqual(['you-are-number', 'n12', 'in-the-queue']);
    expect(composeAnnouncement({ position: 42, ewtSeconds: 150, callbackKey: '#' })).toEqual([
      'you-are-number',
      'n40',
      'n2',
      'in-the-queue',
      'expected-wait',
      'n3', // 150 s = 2.5 min, rounded
      'minutes',
      'press-for-callback',
      'key-hash',
    ]);
    expect(composeAnnouncement({ position: 1, ewtSeconds: 10 })).toEqual([
      'you-are-number',
      'n1',
      'in-the-queue',
      'expected-wait',
      'n1',
      'minute',
    ]);
    expect(composeAnnouncement({ position: 3, ewtSeconds: null, callbackKey: '*' })).toEqual([
      'you-are-number',
      'n3',
      'in-the-queue',
      'press-for-callback',
      'key-star',
    ]);
    // A key that cannot be said is left out rather than said wrong; positions are at least 1.
    expect(composeAnnouncement({ position: 0, callbackKey: 'A' })).toEqual(['you-are-number', 'n1', 'in-the-queue']);
  });
});

describe('PositionAnnouncer', () => {
  it('renders every part once, ahead; answers undefined until ready, then the files in order', async () => {
    const asked: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tts: TtsProvider = {
      async render(text) {
        asked.push(text);
        await gate;
        return `/cache/${text}.wav`;
      },
    };
    const a = new PositionAnnouncer(tts);
    const done = a.prepare();
    expect(a.files({ position: 2 })).toBeUndefined();
    release();
    await done;
    await a.prepare(); // idempotent
    expect(asked).toHaveLength(Object.keys(ANNOUNCEMENT_PARTS).length);
    expect(a.ready).toBe(true);
    expect(a.files({ position: 23, callbackKey: '1' })).toEqual([
      '/cache/You are number.wav',
      '/cache/twenty.wav',
      '/cache/three.wav',
      '/cache/in the queue..wav',
      '/cache/To be called back without losing your place, press.wav',
      '/cache/one.wav',
    ]);
    expect(announcerFor(tts)).toBe(announcerFor(tts));
  });

  it('reports a part that could not be rendered and stays not ready', async () => {
    const a = new PositionAnnouncer({ render: () => Promise.reject(new Error('espeak-ng not installed')) });
    await a.prepare();
    expect(a.ready).toBe(false);
    expect(a.error).toMatch(/espeak-ng/);
    expect(a.files({ position: 1 })).toBeUndefined();
  });
});
