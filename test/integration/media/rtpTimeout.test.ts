/**
 * A caller whose RTP stops without a BYE (network gone) ends with callLost 'media-rtp-timeout';
 * a caller that has put us on hold (recvonly/inactive: it is not supposed to send) does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_RTP_TIMEOUT, MediaPlane } from '../../../media/index.ts';
import { tone } from '../../support/audio.ts';
import { RtpPeer } from './rtpPeer.ts';
import { until } from './until.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let plane: MediaPlane;
const TIMEOUT_MS = 800;
/** How often the RTP thread checks its legs for inactivity (rtpThreadEntry.ts). */
const SWEEP_MS = 200;

beforeAll(async () => {
  plane = await MediaPlane.start({
    workers: 1,
    listenIp: '127.0.0.1',
    rtpMinPort: 39400,
    rtpMaxPort: 39599,
    rtcMinPort: 39600,
    rtcMaxPort: 39799,
    rtpTimeoutMs: TIMEOUT_MS,
  });
});
afterAll(async () => {
  await plane?.stop();
});

describe('RTP inactivity', () => {
  it('ends a call whose caller went silent on the wire, not one that holds us', async () => {
    const lost: string[] = [];
    plane.on('callLost', (id, reason) => lost.push(`${id}:${reason}`));
    const a = await RtpPeer.open();
    const b = await RtpPeer.open();
    const gone = await plane.createCall('rt-gone');
    const held = await plane.createCall('rt-held');
    try {
      const ta = await gone.createTrunkLeg();
      a.sendTo('127.0.0.1', Number(/m=audio (\d+)/.exec(await ta.answer(a.sdp(['PCMU'])))![1]));
      const tb = await held.createTrunkLeg();
      b.sendTo('127.0.0.1', Number(/m=audio (\d+)/.exec(await tb.answer(b.sdp(['PCMU'])))![1]));
      void a.stream('PCMU', tone(440, 1000));
      void b.stream('PCMU', tone(440, 1000));
      // Longer than the timeout: callers that keep sending are never timed out.
      await sleep(TIMEOUT_MS + 2 * SWEEP_MS);
      expect(lost).toEqual([]);
      a.stop(); // a's network goes away
      await tb.update(b.sdp(['PCMU']).replace('a=sendrecv', 'a=inactive'));
      b.stop(); // b holds us: silence is expected
      const bSilentSince = Date.now();
      await until("the silent caller's timeout", () => lost.length > 0, TIMEOUT_MS + 10 * SWEEP_MS);
      // b went silent just after a: had it been timed out too, it would have been by now.
      await sleep(Math.max(0, bSilentSince + TIMEOUT_MS + 2 * SWEEP_MS - Date.now()));
      expect(lost).toEqual([`rt-gone:${MEDIA_RTP_TIMEOUT}`]);
      expect(gone.closed).toBe(true);
      expect(held.closed).toBe(false);
    } finally {
      gone.close();
      held.close();
      a.close();
      b.close();
    }
  });
});
