/**
 * The call's mixer on its RTP thread, through real UDP peers on 127.0.0.1 and a real mediasoup
 * worker: a caller (697 Hz) on a trunk leg, an agent (1209 Hz) and a third party (1477 Hz: the
 * consulted agent, or a supervisor) on desk-phone legs. What each peer hears is judged by Goertzel:
 * a three-way conference (each hears the other two, never itself; the recording has the caller left,
 * the other two right), the agent leaving it (the two others go on), back to a plain bridge; and a
 * supervisor listening, whispering (the agent hears it, the caller never) and barging (everyone).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { conferenceHears, MediaPlane, monitorHears, type MediaCall, type PlainRtpLeg } from '../../../media/index.ts';
import { decodeG711 } from '../../../media/audio/g711.ts';
import { goertzelPower, readStereoWav, tone } from '../../support/audio.ts';
import { RtpPeer } from './rtpPeer.ts';

const dir = mkdtempSync(join(tmpdir(), 'media-mix-'));
let plane: MediaPlane;
const CALLER = 697;
const AGENT = 1209;
const THIRD = 1477;
const AMP = 5000;

beforeAll(async () => {
  plane = await MediaPlane.start({
    workers: 1,
    listenIp: '127.0.0.1',
    rtpMinPort: 35200,
    rtpMaxPort: 35499,
    rtcMinPort: 35500,
    rtcMaxPort: 35899,
    recordingsDir: dir,
  });
});
afterAll(async () => {
  await plane?.stop();
});
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const portOf = (sdp: string) => Number(/m=audio (\d+)/.exec(sdp)![1]);

interface Party {
  peer: RtpPeer;
  leg: PlainRtpLeg;
  hz: number;
}

/** A caller on a trunk leg and two desk phones, each streaming its tone, caller and agent bridged. */
async function threeParties(id: string): Promise<{ call: MediaCall; caller: Party; agent: Party; third: Party }> {
  const call = await plane.createCall(id);
  cleanups.push(() => call.close());
  const open = async (hz: number, trunk: boolean): Promise<Party> => {
    const peer = await RtpPeer.open();
    cleanups.push(() => peer.close());
    let leg: PlainRtpLeg;
    let ours: string;
    if (trunk) {
      leg = await call.createTrunkLeg();
      ours = await leg.answer(peer.sdp(['PCMU']));
    } else {
      leg = await call.createRtpLeg();
      ours = leg.offer();
      await leg.setAnswer(peer.sdp(['PCMU']));
    }
    peer.sendTo('127.0.0.1', portOf(ours));
    void peer.stream('PCMU', tone(hz, 1000, { amp: AMP }));
    return { peer, leg, hz };
  };
  const caller = await open(CALLER, true);
  const agent = await open(AGENT, false);
  const third = await open(THIRD, false);
  await call.bridge(caller.leg, agent.leg);
  return { call, caller, agent, third };
}

/**
 * Amplitude of each tone in what `p` heard from packet `from` on: 2·√P/N of Goertzel over 80 ms
 * blocks, the median block (a frame lost or late in the mix, or a sender's burst, breaks a tone's
 * phase; judged per block, that costs a block, not the whole window).
 */
function heard(p: Party, from: number): Record<number, number> {
  const pkts = p.peer.received.slice(from).filter((x) => x.payloadType === 0);
  const x = new Int16Array(pkts.length * 160);
  pkts.forEach((k, i) => x.set(decodeG711('PCMU', k.payload), i * 160));
  const B = 640;
  const median = (f: number) => {
    const amps: number[] = [];
    for (let i = 0; i + B <= x.length; i += B) amps.push((2 * Math.sqrt(goertzelPower(x.subarray(i, i + B), f))) / B);
    amps.sort((a, b) => a - b);
    return amps.length ? amps[amps.length >> 1]! : 0;
  };
  return { [CALLER]: median(CALLER), [AGENT]: median(AGENT), [THIRD]: median(THIRD) };
}

/** Let `ms` of audio flow after a change, then return where each party's fresh audio starts. */
async function window(parties: Party[], ms = 800): Promise<() => Record<string, Record<number, number>>> {
  // 100 ms for the change to land (thread, in-flight packets), then a window of `ms` of real time
  // (what a party hears is judged over time: one that hears nobody gets no packets at all).
  await new Promise((r) => setTimeout(r, 100));
  const marks = parties.map((p) => p.peer.received.length);
  await new Promise((r) => setTimeout(r, ms));
  return () => Object.fromEntries(parties.map((p, i) => [p.hz, heard(p, marks[i]!)]));
}

/** Heard at conversation level (the tones are sent at 5000), or not at all (quantisation noise). */
const on = (a: number) => a > AMP / 2;
const off = (a: number) => a < AMP / 25;

describe('mixing a call on its RTP thread', () => {
  it('conference: each hears the other two; the agent leaves and the others go on; back to a bridge; recorded', async () => {
    const { call, caller, agent, third } = await threeParties('mix-conf');
    const rec = await call.record(join(dir, 'conf.wav'));
    const all = [caller, agent, third];
    let w = await window(all);
    let r = w();
    // Bridged: the third party hears nothing yet, caller and agent each other.
    expect(on(r[CALLER]![AGENT]!) && off(r[CALLER]![THIRD]!)).toBe(true);
    expect(r[THIRD]![CALLER]! + r[THIRD]![AGENT]!).toBeLessThan(AMP / 25);

    const mix = await call.mix(conferenceHears([caller.leg, agent.leg, third.leg]));
    expect(call.currentMix).toBe(mix);
    w = await window(all);
    r = w();
    for (const p of all)
      for (const q of all) {
        const a = r[p.hz]![q.hz]!;
        expect(p === q ? off(a) : on(a), `${p.hz} hears ${q.hz}: ${a.toFixed(0)}`).toBe(true);
      }

    // The agent drops out: caller and third party still hear each other, nobody hears the agent.
    await mix.remove(agent.leg);
    w = await window(all);
    r = w();
    expect(on(r[CALLER]![THIRD]!) && on(r[THIRD]![CALLER]!)).toBe(true);
    expect(off(r[CALLER]![AGENT]!) && off(r[THIRD]![AGENT]!)).toBe(true);
    expect(r[AGENT]![CALLER]! + r[AGENT]![THIRD]!).toBeLessThan(AMP / 25);

    // Back to a plain bridge between caller and third party: the mix ends.
    await call.bridge(caller.leg, third.leg);
    expect(call.currentMix).toBeUndefined();
    w = await window(all);
    r = w();
    expect(on(r[CALLER]![THIRD]!) && on(r[THIRD]![CALLER]!)).toBe(true);
    expect(off(r[CALLER]![AGENT]!)).toBe(true);

    // The recording: the caller left throughout; on the right what the caller heard in each part.
    const summary = await rec.stop();
    const wav = readStereoWav(readFileSync(summary.path));
    const amp = (x: Int16Array, f: number) => (2 * Math.sqrt(goertzelPower(x, f))) / x.length;
    expect(amp(wav.left.subarray(8000), CALLER)).toBeGreaterThan(AMP / 2);
    // Conference part (about 1.0–1.8 s in): agent and third party both on the right.
    const conf = wav.right.subarray(Math.round(1.2 * 8000), Math.round(1.7 * 8000));
    expect(on(amp(conf, AGENT)) && on(amp(conf, THIRD)), `right channel ${amp(conf, AGENT)} ${amp(conf, THIRD)}`).toBe(true);
    expect(off(amp(conf, CALLER))).toBe(true);
  });

  it('supervisor: listen hears both and is heard by nobody; whisper reaches the agent only; barge everyone', async () => {
    const { call, caller, agent, third: sup } = await threeParties('mix-monitor');
    const all = [caller, agent, sup];
    const o = { parties: [caller.leg, agent.leg], supervisor: sup.leg, agent: agent.leg };
    const mix = await call.mix(monitorHears('listen', o));
    let r = (await window(all))();
    expect(on(r[THIRD]![CALLER]!) && on(r[THIRD]![AGENT]!)).toBe(true);
    expect(off(r[CALLER]![THIRD]!) && off(r[AGENT]![THIRD]!)).toBe(true);
    expect(on(r[CALLER]![AGENT]!) && on(r[AGENT]![CALLER]!)).toBe(true);

    await mix.set(monitorHears('whisper', o));
    r = (await window(all))();
    expect(on(r[AGENT]![THIRD]!), `agent hears whisper ${r[AGENT]![THIRD]}`).toBe(true);
    expect(off(r[CALLER]![THIRD]!), `caller hears whisper ${r[CALLER]![THIRD]}`).toBe(true);
    expect(on(r[CALLER]![AGENT]!) && on(r[THIRD]![CALLER]!)).toBe(true);

    // Whisper → barge live, changing only whom the caller hears.
    await mix.hear(caller.leg, [agent.leg, sup.leg]);
    r = (await window(all))();
    for (const p of all)
      for (const q of all) if (p !== q) expect(on(r[p.hz]![q.hz]!), `${p.hz} hears ${q.hz}: ${JSON.stringify(r)}`).toBe(true);

    // The supervisor leaves: caller and agent are back to each other alone.
    await mix.remove(sup.leg);
    r = (await window(all))();
    expect(off(r[CALLER]![THIRD]!) && off(r[AGENT]![THIRD]!)).toBe(true);
    expect(on(r[CALLER]![AGENT]!) && on(r[AGENT]![CALLER]!)).toBe(true);
    const stats = await mix.end();
    expect(stats.ticks).toBeGreaterThan(150);
    expect(stats.sent).toBeGreaterThan(stats.ticks * 2);
    console.log(
      `mix cost: ${stats.ticks} ticks, ${stats.sent} packets, ${stats.busyUs} µs busy: ${(stats.busyUs / stats.ticks).toFixed(1)} µs/tick`,
    );
  });

  it('refuses to mix a browser leg that has not negotiated media, leaving the bridge as it was', async () => {
    const { call, caller, agent } = await threeParties('mix-webrtc');
    const web = await call.createWebRtcLeg();
    await expect(call.mix(conferenceHears([caller.leg, agent.leg, web]))).rejects.toThrow(/has not negotiated media/);
    expect(call.currentMix).toBeUndefined();
    const r = (await window([caller, agent]))();
    expect(on(r[CALLER]![AGENT]!) && on(r[AGENT]![CALLER]!)).toBe(true);
  });
});
