/**
 * Headless Chromium (fake microphone: a 440 Hz WAV) ↔ mediasoup WebRtcTransport (ICE-lite,
 * DTLS-SRTP) ↔ trunk leg ↔ a Node RTP peer sending 1000 Hz. Each side must hear the other's tone
 * (Goertzel), and the recording must hold the caller's tone left and the agent's right.
 * The browser side is a plain RTCPeerConnection: what sip.js's Web SessionDescriptionHandler does
 * with the same SDP.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaPlane } from '../../../media/index.ts';
import { encodeWav } from '../../../media/audio/wav.ts';
import { dominantFrequency, readStereoWav, tone } from '../../support/audio.ts';
import { CHROMIUM, launchBrowser, loopbackOnly, openPage } from '../../support/browser.ts';
import { RtpPeer } from './rtpPeer.ts';
import { until } from './until.ts';

const dir = mkdtempSync(join(tmpdir(), 'media-webrtc-'));
process.env.TMPDIR = dir; // playwright's profile directory
let plane: MediaPlane;
let browser: Browser;

beforeAll(async () => {
  const mic = join(dir, 'mic-440.wav');
  writeFileSync(mic, encodeWav(48000, 1, tone(440, 5000, { rate: 48000, amp: 12000 })));
  plane = await MediaPlane.start({
    workers: 1,
    listenIp: '127.0.0.1',
    rtpMinPort: 33000,
    rtpMaxPort: 33999,
    rtcMinPort: 34000,
    rtcMaxPort: 34999,
  });
  browser = await launchBrowser(mic);
});
afterAll(async () => {
  await browser?.close();
  await plane?.stop();
});

declare global {
  interface Window {
    pc: RTCPeerConnection;
    heard: number[];
    /** Answer our offer with the fake microphone; record what is heard (up to maxSeconds). */
    answerOffer(sdp: string, maxSeconds: number): Promise<string>;
    /** Offer to us (the agent dials out), likewise recording what is heard. */
    makeOffer(maxSeconds: number): Promise<string>;
  }
}

/** Runs in the page: what sip.js's session handler does, plus a recorder of the remote audio. */
function installPeer(): void {
  const open = async (maxSeconds: number) => {
    const pc = (window.pc = new RTCPeerConnection({ iceServers: [] }));
    const ms = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    window.heard = [];
    pc.ontrack = (e) => {
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      // Remote audio reaches WebAudio only if the stream also plays in a (muted) media element.
      const el = new Audio();
      el.muted = true;
      el.srcObject = stream;
      void el.play();
      const ctx = new AudioContext({ sampleRate: 48000 });
      const proc = ctx.createScriptProcessor(4096, 1, 1);
      proc.onaudioprocess = (ev) => {
        if (window.heard.length < 48000 * maxSeconds) window.heard.push(...ev.inputBuffer.getChannelData(0));
      };
      ctx.createMediaStreamSource(stream).connect(proc);
      proc.connect(ctx.destination);
    };
    return { pc, ms };
  };
  const gathered = async (pc: RTCPeerConnection): Promise<string> => {
    await new Promise<void>((r) => {
      if (pc.iceGatheringState === 'complete') r();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
      setTimeout(r, 2000);
    });
    return pc.localDescription!.sdp;
  };
  window.answerOffer = async (sdp, maxSeconds) => {
    const { pc, ms } = await open(maxSeconds);
    await pc.setRemoteDescription({ type: 'offer', sdp });
    pc.addTrack(ms.getAudioTracks()[0]!, ms);
    pc.getTransceivers()[0]!.direction = 'sendrecv';
    await pc.setLocalDescription(await pc.createAnswer());
    return gathered(pc);
  };
  window.makeOffer = async (maxSeconds) => {
    const { pc, ms } = await open(maxSeconds);
    pc.addTransceiver(ms.getAudioTracks()[0]!, { direction: 'sendrecv', streams: [ms] });
    await pc.setLocalDescription(await pc.createOffer());
    return gathered(pc);
  };
}

describe('browser agent over WebRTC', () => {
  // CI installs Chromium (scripts/test.sh): a missing browser fails here, it is not skipped.
  it('has Chromium', () => expect(existsSync(CHROMIUM)).toBe(true));
  for (const law of ['PCMU', 'PCMA'] as const) {
    it(`hears and is heard (${law}), DTLS-SRTP up, recorded on the right channels`, async () => {
      const caller = await RtpPeer.open();
      const call = await plane.createCall(`it-webrtc-${law}`);
      const page = await openPage(browser);
      try {
        const trunk = await call.createTrunkLeg();
        const answer = await trunk.answer(caller.sdp([law], { te: 101 }));
        caller.sendTo('127.0.0.1', Number(/m=audio (\d+)/.exec(answer)![1]));
        void caller.stream(law, tone(1000, 1000, { amp: 8000 }));

        const agent = await call.createWebRtcLeg();
        const offer = agent.offer();
        expect(offer).toContain('a=ice-lite');
        expect(offer).toContain('a=setup:actpass');
        expect(offer).toMatch(/a=fingerprint:sha-256 [0-9A-F:]+/);

        await page.evaluate(installPeer);
        const browserAnswer = await page.evaluate((sdp) => window.answerOffer(sdp, 3), offer);
        await agent.setAnswer(loopbackOnly(browserAnswer));
        await call.bridge(trunk, agent);
        const state = await page.evaluate(
          () =>
            new Promise<string>((r) => {
              const ck = () =>
                (window.pc.connectionState === 'connected' || window.pc.connectionState === 'failed') && r(window.pc.connectionState);
              window.pc.onconnectionstatechange = ck;
              ck();
              setTimeout(() => r(window.pc.connectionState), 10000);
            }),
        );
        expect(state).toBe('connected');
        const rec = await call.record(join(dir, `webrtc-${law}.wav`));
        await page.evaluate(() => (window.heard = []));
        const fromBrowserBefore = caller.audio(law).length;
        // Two seconds each way since the recording began (the analysis below skips its edges).
        await until(
          'two seconds of audio each way',
          async () =>
            caller.audio(law).length - fromBrowserBefore >= 16000 && (await page.evaluate(() => window.heard.length)) >= 2 * 48000,
          10_000,
        );
        const summary = await rec.stop();
        caller.stop();

        // browser → caller
        const fromBrowser = caller.audio(law);
        expect(fromBrowser.length).toBeGreaterThan(8000);
        const last = fromBrowser.subarray(fromBrowser.length - 8000);
        expect(dominantFrequency(last).freq).toBe(440);
        expect(dominantFrequency(last).ratio).toBeGreaterThan(50);
        // caller → browser
        const heard = await page.evaluate(() => window.heard);
        expect(heard.length).toBeGreaterThan(48000);
        const h = Int16Array.from(heard.slice(-48000), (x) => Math.round(x * 32767));
        const d = dominantFrequency(h, 48000, 200, 3800, 10);
        expect(d.freq).toBe(1000);
        expect(d.ratio).toBeGreaterThan(50);
        // recording: caller left, agent right
        const w = readStereoWav(readFileSync(summary.path));
        const l = w.left.subarray(w.left.length - 12000, w.left.length - 4000);
        const r = w.right.subarray(w.right.length - 12000, w.right.length - 4000);
        expect(dominantFrequency(l).freq).toBe(1000);
        expect(dominantFrequency(r).freq).toBe(440);
        const stats = await agent.transport.getStats();
        expect(stats[0]?.dtlsState).toBe('connected');
      } finally {
        await page.close();
        call.close();
        caller.close();
      }
    });
  }

  it('answers a browser offer (agent dials out): DTLS as server, audio both ways', async () => {
    const caller = await RtpPeer.open();
    const call = await plane.createCall('it-webrtc-answer');
    const page = await openPage(browser);
    try {
      const trunk = await call.createTrunkLeg();
      const answer = await trunk.answer(caller.sdp(['PCMA', 'PCMU'], { te: 101 }));
      caller.sendTo('127.0.0.1', Number(/m=audio (\d+)/.exec(answer)![1]));
      void caller.stream('PCMA', tone(1000, 1000, { amp: 8000 }));
      const agent = await call.createWebRtcLeg();
      await page.evaluate(installPeer);
      const offer = await page.evaluate(() => window.makeOffer(6));
      const ours = await agent.answer(loopbackOnly(offer));
      expect(ours).toContain('a=setup:passive');
      expect(ours).toMatch(/UDP\/TLS\/RTP\/SAVPF 8 101/);
      await call.bridge(trunk, agent);
      await page.evaluate(async (sdp) => {
        await window.pc.setRemoteDescription({ type: 'answer', sdp });
      }, ours);
      // 1.5 s each way, so the last second analysed below is steady audio.
      await until(
        'audio each way',
        async () => caller.audio('PCMA').length >= 12000 && (await page.evaluate(() => window.heard.length)) >= 72000,
        10_000,
      );
      const heard = await page.evaluate(() => window.heard);
      caller.stop();
      const h = Int16Array.from(heard.slice(-48000), (x) => Math.round(x * 32767));
      expect(dominantFrequency(h, 48000, 200, 3800, 10).freq).toBe(1000);
      expect(dominantFrequency(caller.audio('PCMA').subarray(-8000)).freq).toBe(440);
    } finally {
      await page.close();
      call.close();
      caller.close();
    }
  });

  it('plays a prompt to the browser agent (whisper), then gives it the caller back', async () => {
    const caller = await RtpPeer.open();
    const call = await plane.createCall('it-webrtc-whisper');
    const page = await openPage(browser);
    try {
      const trunk = await call.createTrunkLeg();
      const answer = await trunk.answer(caller.sdp(['PCMU'], { te: 101 }));
      caller.sendTo('127.0.0.1', Number(/m=audio (\d+)/.exec(answer)![1]));
      void caller.stream('PCMU', tone(1000, 1000, { amp: 8000 }));
      const agent = await call.createWebRtcLeg();
      await page.evaluate(installPeer);
      const browserAnswer = await page.evaluate((sdp) => window.answerOffer(sdp, 8), agent.offer());
      await agent.setAnswer(loopbackOnly(browserAnswer));
      await call.bridge(trunk, agent);
      await until('the caller at the browser', async () => (await page.evaluate(() => window.heard.length)) >= 48000, 10_000);
      const prompt = join(dir, 'whisper.wav');
      writeFileSync(prompt, encodeWav(16000, 1, tone(1500, 1200, { rate: 16000, amp: 9000 })));
      await page.evaluate(() => (window.heard = []));
      const pb = await call.play(agent, prompt);
      expect(await pb.done).toBe('finished');
      // After the prompt the caller is back: wait for 1.5 s more, the last second analysed below.
      const atEnd = await page.evaluate(() => window.heard.length);
      await until('the caller again', async () => (await page.evaluate(() => window.heard.length)) >= atEnd + 72000, 10_000);
      const heard = await page.evaluate(() => window.heard);
      caller.stop();
      const h = Int16Array.from(heard, (x) => Math.round(x * 32767));
      // from 0.1 s to 0.9 s: the prompt; the last second: the caller again
      expect(dominantFrequency(h.subarray(4800, 43200), 48000, 200, 3800, 10).freq).toBe(1500);
      expect(dominantFrequency(h.subarray(h.length - 48000), 48000, 200, 3800, 10).freq).toBe(1000);
      expect(dominantFrequency(caller.audio('PCMU').subarray(-8000)).freq).toBe(440);
    } finally {
      await page.close();
      call.close();
      caller.close();
    }
  });

  it('reports legFailed when the browser disappears without a word (ICE consent lost)', async () => {
    // Its own ports, apart from the file's plane (33000-34999) and every other media test's.
    const quick = await MediaPlane.start({
      workers: 1,
      listenIp: '127.0.0.1',
      rtpMinPort: 39220,
      rtpMaxPort: 39299,
      rtcMinPort: 39300,
      rtcMaxPort: 39399,
      iceConsentTimeoutSec: 10,
    });
    const caller = await RtpPeer.open();
    const call = await quick.createCall('it-webrtc-gone');
    const failed: string[] = [];
    call.on('legFailed', (leg, reason) => failed.push(`${leg.kind}:${reason}`));
    const page = await openPage(browser);
    try {
      const trunk = await call.createTrunkLeg();
      const answer = await trunk.answer(caller.sdp(['PCMU']));
      caller.sendTo('127.0.0.1', Number(/m=audio (\d+)/.exec(answer)![1]));
      void caller.stream('PCMU', tone(1000, 1000));
      const agent = await call.createWebRtcLeg();
      const browserAnswer = await page.evaluate(async (sdp) => {
        const pc = (window.pc = new RTCPeerConnection({ iceServers: [] }));
        const ms = await navigator.mediaDevices.getUserMedia({ audio: true });
        await pc.setRemoteDescription({ type: 'offer', sdp });
        pc.addTrack(ms.getAudioTracks()[0]!, ms);
        pc.getTransceivers()[0]!.direction = 'sendrecv';
        await pc.setLocalDescription(await pc.createAnswer());
        await new Promise<void>((r) => {
          if (pc.iceGatheringState === 'complete') r();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
          setTimeout(r, 2000);
        });
        return pc.localDescription!.sdp;
      }, agent.offer());
      await agent.setAnswer(loopbackOnly(browserAnswer));
      await call.bridge(trunk, agent);
      await until('DTLS connected', () => agent.transport.dtlsState === 'connected');
      await page.close(); // tab gone: no BYE, no DTLS close_notify guaranteed
      await until('legFailed', () => failed.length > 0, 16_000); // mediasoup's minimum is 10 s
      if (process.env.MEDIA_TEST_VERBOSE) console.log('states', agent.transport.iceState, agent.transport.dtlsState, failed);
      expect(failed[0]).toMatch(/^webrtc:(ice-disconnected|dtls-failed)$/);
      expect(call.closed).toBe(false); // the caller's side goes on (the ACD can requeue)
    } finally {
      call.close();
      caller.close();
      await quick.stop();
    }
  });
});
