/**
 * Dialling out through an outbound trunk (server/call/dial.ts) with sipp as the carrier:
 * - it challenges with 401 (the trunk's digest credentials are checked by sipp's verifyauth),
 *   rings, answers PCMU and plays an 800 Hz tone: we hear 800 Hz, it hears our 1200 Hz;
 * - another answers 486: busy; another rings until our ring timeout: CANCEL, no-answer;
 * - a number no route serves and a trunk at its limit are DialErrors before any SIP.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeG711, g711Pcap, MediaPlane } from '../../../media/index.ts';
import { rtpFromPcap } from '../../../media/audio/pcap.ts';
import { encodeWav } from '../../../media/audio/wav.ts';
import { log } from '../../../lib/log.ts';
import { OutboundSchema } from '../../../server/config/schema.ts';
import { OutboundTrunks } from '../../../server/config/trunks.ts';
import { dial, DialError, DialFailed } from '../../../server/call/dial.ts';
import { SipStack } from '../../../server/sip/index.ts';
import { dominantFrequency, readStereoWav, tone } from '../../support/audio.ts';
import { startSipp } from '../../support/sipp.ts';
import { captureUdp } from '../../support/tcpdump.ts';

const here = dirname(fileURLToPath(import.meta.url));
const SIP = 32060;
const CARRIER = { answer: 32070, busy: 32071, noAnswer: 32072, early: 32073 };
const CARRIER_MEDIA = 32080;
const dir = mkdtempSync(join(tmpdir(), 'cc-dial-'));
let plane: MediaPlane;
let sip: SipStack;

const trunks = new OutboundTrunks(
  OutboundSchema.parse({
    numbering: { countryCode: '44' },
    trunks: {
      answers: { host: '127.0.0.1', port: CARRIER.answer, username: 'centre', password: 's3cret', callerId: { centre: '+442079460000' } },
      busy: { host: '127.0.0.1', port: CARRIER.busy, callerId: { centre: '+442079460000' } },
      early: { host: '127.0.0.1', port: CARRIER.early, callerId: { centre: '+442079460000' } },
      silent: { host: '127.0.0.1', port: CARRIER.noAnswer, callerId: { centre: '+442079460000' }, ringTimeoutSec: 5, maxCalls: 1 },
    },
    routes: [
      { prefix: '+4420', trunk: 'answers' },
      { prefix: '+4430', trunk: 'busy' },
      { prefix: '+4440', trunk: 'silent' },
      { prefix: '+4450', trunk: 'early' },
    ],
  }),
);

beforeAll(async () => {
  plane = await MediaPlane.start({
    workers: 1,
    listenIp: '127.0.0.1',
    rtpMinPort: 32100,
    rtpMaxPort: 32499,
    rtcMinPort: 32500,
    rtcMaxPort: 32699,
  });
  sip = new SipStack({ realm: 'centre.test' });
  await sip.listen({ udp: { host: '127.0.0.1', port: SIP } });
  writeFileSync(join(dir, 'tone.pcap'), g711Pcap(tone(800, 8000, { amp: 6000 }), 'PCMU'));
  writeFileSync(join(dir, 'ours.wav'), encodeWav(8000, 1, tone(1200, 20_000, { amp: 6000 })));
});
afterAll(async () => {
  await sip?.close();
  await plane?.stop();
});

const ctx = () => ({ sip, trunks, log });
const mid = (x: Int16Array): Int16Array => x.subarray(Math.floor(x.length * 0.3), Math.floor(x.length * 0.8));

describe('dial through an outbound trunk (sipp as the carrier)', () => {
  it('answers after a digest challenge, with audio both ways', async () => {
    const carrier = startSipp({
      scenario: join(here, 'scenarios', 'carrier-answer.xml'),
      localPort: CARRIER.answer,
      calls: 1,
      cwd: dir,
      timeoutSec: 40,
      args: ['-mp', String(CARRIER_MEDIA)],
    });
    const cap = await captureUdp(CARRIER_MEDIA);
    let captured: Promise<Buffer> | undefined;
    const media = await plane.createCall('dial-answer');
    let rang = false;
    try {
      const leg = await dial(ctx(), media, { number: '020 7946 0999', onRinging: () => (rang = true) });
      expect(leg.role).toBe('outbound');
      expect(leg.state).toBe('up');
      expect(leg.party).toBe('+442079460999');
      expect(rang).toBe(true);
      expect(media.law).toBe('PCMU');
      expect(trunks.active('answers')).toBe(1);
      const rec = await media.record(join(dir, 'answer.wav'));
      await media.play(leg.rtp!, join(dir, 'ours.wav'));
      await new Promise((r) => setTimeout(r, 4000));
      const summary = await rec.stop();
      leg.hangUp();
      expect(trunks.active('answers')).toBe(0);
      const r = await carrier.done;
      expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
      expect(r.successful).toBe(1);
      // We heard the carrier's 800 Hz (left: the party) ...
      const w = readStereoWav(readFileSync(summary.path));
      expect(dominantFrequency(mid(w.left), w.rate, 300, 3000, 10).freq).toBeCloseTo(800, -1);
      // ... and the carrier heard our 1200 Hz.
      const rtp = rtpFromPcap(await (captured = cap.stop()), CARRIER_MEDIA).filter((p) => p.payloadType === 0);
      expect(rtp.length).toBeGreaterThan(100);
      const heard = decodeG711('PCMU', Buffer.concat(rtp.slice(25, -25).map((p) => p.payload)));
      expect(dominantFrequency(heard, 8000, 300, 3000, 10).freq).toBeCloseTo(1200, -1);
    } finally {
      media.close();
      await (captured ?? cap.stop());
      await carrier.stop();
    }
  });

  it('busy (486) is the outcome busy, and frees the trunk slot', async () => {
    const carrier = startSipp({
      scenario: join(here, 'scenarios', 'carrier-busy.xml'),
      localPort: CARRIER.busy,
      calls: 1,
      cwd: dir,
      timeoutSec: 20,
    });
    const media = await plane.createCall('dial-busy');
    try {
      const e = await dial(ctx(), media, { number: '03000 123456' }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(DialFailed);
      expect(e).toMatchObject({ outcome: 'busy', status: 486 });
      expect(trunks.active('busy')).toBe(0);
      const r = await carrier.done;
      expect(r.exitCode, r.errors).toBe(0);
    } finally {
      media.close();
      await carrier.stop();
    }
  });

  it("early media (183 with SDP) flows before the outcome: we hear the carrier's tone, then busy", async () => {
    const carrier = startSipp({
      scenario: join(here, 'scenarios', 'carrier-early-media.xml'),
      localPort: CARRIER.early,
      calls: 1,
      cwd: dir,
      timeoutSec: 20,
      args: ['-mp', String(CARRIER_MEDIA + 10)],
    });
    const media = await plane.createCall('dial-early');
    let heard: Promise<string> | undefined;
    try {
      const e = await dial(ctx(), media, {
        number: '050 1234 5678',
        onEarlyMedia: () => {
          heard = (async () => {
            const rec = await media.record(join(dir, 'early.wav'));
            await new Promise((r) => setTimeout(r, 2500));
            return (await rec.stop()).path;
          })();
        },
      }).catch((x: unknown) => x);
      expect(e).toMatchObject({ outcome: 'busy', status: 486 });
      expect(heard).toBeDefined();
      const w = readStereoWav(readFileSync(await heard!));
      expect(dominantFrequency(mid(w.left), w.rate, 300, 3000, 10).freq).toBeCloseTo(800, -1);
      const r = await carrier.done;
      expect(r.exitCode, r.errors).toBe(0);
    } finally {
      media.close();
      await carrier.stop();
    }
  });

  it('no answer: our ring timeout CANCELs; the full trunk and an unrouted number are refused before SIP', async () => {
    const carrier = startSipp({
      scenario: join(here, 'scenarios', 'carrier-no-answer.xml'),
      localPort: CARRIER.noAnswer,
      calls: 1,
      cwd: dir,
      timeoutSec: 30,
    });
    const media = await plane.createCall('dial-noanswer');
    try {
      const started = Date.now();
      const ringing = dial(ctx(), media, { number: '040 1234 5678' }).then(
        () => undefined,
        (x: unknown) => x,
      );
      // The trunk allows one call: a second, while the first rings, is refused at once.
      await new Promise((r) => setTimeout(r, 500));
      expect(trunks.active('silent')).toBe(1);
      const full = await dial(ctx(), media, { number: '040 1234 5679' }).catch((x: unknown) => x);
      expect(full).toBeInstanceOf(DialError);
      expect(full).toMatchObject({ code: 'trunk-full', status: 503 });
      const unrouted = await dial(ctx(), media, { number: '+33 1 23 45 67 89' }).catch((x: unknown) => x);
      expect(unrouted).toMatchObject({ code: 'no-trunk', message: 'no outbound trunk serves +33123456789' });

      const e = await ringing;
      expect(e).toMatchObject({ outcome: 'no-answer', status: 408 });
      const took = Date.now() - started;
      expect(took).toBeGreaterThan(4500);
      expect(took).toBeLessThan(8000);
      expect(trunks.active('silent')).toBe(0);
      const r = await carrier.done; // sipp saw our CANCEL and answered 200 + 487
      expect(r.exitCode, r.errors + r.stdout.slice(-1000)).toBe(0);
    } finally {
      media.close();
      await carrier.stop();
    }
  });
});
