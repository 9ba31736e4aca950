/**
 * A caller whose RTP stops without a BYE (network gone) ends with callLost 'media-rtp-timeout';
 * a caller that has put us on hold (recvonly/inactive: it is not supposed to send) does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_RTP_TIMEOUT, MediaPlane } from '../../../media/index.ts';
import { tone } from '../../support/audio.ts';
import { RtpPeer } from './rtpPeer.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let plane: MediaPlane;

beforeAll(async () => {
  plane = await MediaPlane.start({ workers: 1, listenIp: '127.0.0.1', rtpMinPort: 39400, rtpMaxPort: 39599, rtcMinPort: 39600, rtcMaxPort: 39799, rtpTimeoutMs: 800 });
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
      a.stream('PCMU', tone(440, 1000));
      b.stream('PCMU', tone(440, 1000));
      await sleep(600);
      expect(lost).toEqual([]); // both sending
      a.stop(); // a's network goes away
      await tb.update(b.sdp(['PCMU']).replace('a=sendrecv', 'a=inactive'));
      b.stop(); // b holds us: silence is expected
      await sleep(2000);
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
