/**
 * The pure parts of the desk's audio: meter maths (level of samples, dBFS to a 0-100 meter value,
 * meter ballistics), the device-choice resolution and its storage, the echo test's verdict and the
 * pause banner's clock. Expected values are worked by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { FLOOR_DB, levelOf, meterValue, smooth, toDb } from '../../../softphone/src/audioMeters.ts';
import { loadPrefs, micConstraints, PREFS_KEY, resolvePreferred, savePrefs, type DeviceInfo } from '../../../softphone/src/devices.ts';
import { verdict } from '../../../softphone/src/echoTest.ts';
import { elapsed } from '../../../softphone/src/recordingControl.ts';

describe('meter maths', () => {
  it('levelOf: RMS, peak and dBFS', () => {
    // A full-scale square wave: RMS 1 → 0 dBFS.
    expect(levelOf([1, -1, 1, -1])).toEqual({ rms: 1, peak: 1, db: 0 });
    // A sine of amplitude 0.5 over whole periods: RMS 0.5/√2 = 0.35355 → 20·log10 = −9.03 dBFS.
    const sine = Array.from({ length: 800 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * i) / 80));
    const l = levelOf(sine);
    expect(l.rms).toBeCloseTo(0.353553, 5);
    expect(l.peak).toBeCloseTo(0.5, 3);
    expect(l.db).toBeCloseTo(-9.031, 2);
    // Silence and nothing: the floor.
    expect(levelOf(new Float32Array(128)).db).toBe(FLOOR_DB);
    expect(levelOf([]).db).toBe(FLOOR_DB);
  });

  it('toDb clamps at the floor; meterValue maps −60..0 dBFS to 0..100', () => {
    expect(toDb(0.001)).toBeCloseTo(-60, 6); // 20·log10(0.001) = −60
    expect(toDb(0.0001)).toBe(-60); // −80 clamps
    expect(meterValue(0)).toBe(100);
    expect(meterValue(-30)).toBe(50); // (−30 + 60) / 60
    expect(meterValue(-45)).toBe(25);
    expect(meterValue(-60)).toBe(0);
    expect(meterValue(-90)).toBe(0);
    expect(meterValue(6)).toBe(100);
    expect(meterValue(Number.NaN)).toBe(0);
  });

  it('smooth: fast attack, slow release', () => {
    // Attack, τ = 20 ms, one 16.7 ms frame: k = 1 − e^(−16.7/20) = 0.5661 of the way from −60 to 0.
    expect(smooth(-60, 0, 16.7)).toBeCloseTo(-60 + 60 * (1 - Math.exp(-16.7 / 20)), 6);
    expect(smooth(-60, 0, 16.7)).toBeCloseTo(-26.03, 1);
    // Release, τ = 300 ms: k = 1 − e^(−16.7/300) = 0.05415, so 0 → −3.25.
    expect(smooth(0, -60, 16.7)).toBeCloseTo(-3.249, 2);
    expect(smooth(-20, -20, 100)).toBe(-20);
    expect(smooth(-20, 0, 0)).toBe(-20);
  });
});

describe('device preference', () => {
  const devs: DeviceInfo[] = [
    { deviceId: 'default', label: 'Default', kind: 'audioinput' },
    { deviceId: 'a1', label: 'Headset mic', kind: 'audioinput' },
    { deviceId: 'a2', label: 'Laptop mic', kind: 'audioinput' },
    { deviceId: 'o1', label: 'Headset', kind: 'audiooutput' },
  ];
  it('same id, else same label, else the system default', () => {
    expect(resolvePreferred(devs, 'audioinput', undefined)).toBe('default');
    expect(resolvePreferred(devs, 'audioinput', { id: 'a2', label: 'Laptop mic' })).toBe('a2');
    // Ids reset (site data cleared): found again by label.
    expect(resolvePreferred(devs, 'audioinput', { id: 'zz', label: 'Headset mic' })).toBe('a1');
    // Unplugged: neither id nor label.
    expect(resolvePreferred(devs, 'audioinput', { id: 'zz', label: 'USB mic' })).toBe('default');
    // An output id is not an input.
    expect(resolvePreferred(devs, 'audioinput', { id: 'o1', label: 'Headset' })).toBe('default');
    expect(resolvePreferred(devs, 'audiooutput', { id: 'o1', label: 'Headset' })).toBe('o1');
    // An empty label never matches an undisclosed one.
    expect(resolvePreferred([{ deviceId: 'x', label: '', kind: 'audioinput' }], 'audioinput', { id: 'y', label: '' })).toBe('default');
  });

  it('stored per browser; a corrupt value is no choice', () => {
    const mem = new Map<string, string>();
    const storage = { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v) };
    savePrefs({ mic: { id: 'a1', label: 'Headset mic' } }, storage);
    expect(JSON.parse(mem.get(PREFS_KEY)!)).toEqual({ mic: { id: 'a1', label: 'Headset mic' } });
    expect(loadPrefs(storage)).toEqual({ mic: { id: 'a1', label: 'Headset mic' } });
    mem.set(PREFS_KEY, '{not json');
    expect(loadPrefs(storage)).toEqual({});
    mem.set(PREFS_KEY, JSON.stringify({ mic: { id: 3 }, speaker: { id: 'o1', label: 'Headset' } }));
    expect(loadPrefs(storage)).toEqual({ speaker: { id: 'o1', label: 'Headset' } });
    expect(loadPrefs(undefined)).toEqual({});
  });

  it('microphone constraints: raw audio, exact device unless default', () => {
    expect(micConstraints('default')).toEqual({ echoCancellation: false, noiseSuppression: false, autoGainControl: false });
    expect(micConstraints('a1')).toMatchObject({ deviceId: { exact: 'a1' } });
  });
});

describe('echo test verdict and pause clock', () => {
  it('names what failed', () => {
    expect(verdict(-20, -22)).toMatchObject({ ok: true, mic: true, echo: true });
    expect(verdict(-20, -22).message).toMatch(/^Audio OK/);
    expect(verdict(-60, -60)).toMatchObject({ ok: false, mic: false });
    expect(verdict(-60, -60).message).toMatch(/No sound from your microphone \(silent\)/);
    expect(verdict(-20, -55)).toMatchObject({ ok: false, mic: true, echo: false });
    expect(verdict(-20, -55).message).toMatch(/nothing came back/);
    expect(verdict(-50, -20).mic).toBe(false); // the threshold is exclusive
  });

  it('elapsed: m:ss', () => {
    expect(elapsed(0)).toBe('0:00');
    expect(elapsed(9_999)).toBe('0:09');
    expect(elapsed(75_000)).toBe('1:15');
    expect(elapsed(-5)).toBe('0:00');
  });
});
