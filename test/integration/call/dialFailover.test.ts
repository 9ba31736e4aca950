/**
 * dial.ts fails over across a trunk's addresses (server/sip/locate.ts inviteWithFailover): the first
 * address is a UDP port nobody answers on, the second is sipp as the carrier (digest 401, answers,
 * plays 800 Hz). The call is answered through the second, within the 3 s a silent address is given
 * (plus the answer), we hear the carrier's tone, and the trunk slot is taken and freed once.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { g711Pcap, MediaPlane } from '../../../media/index.ts';
import { log } from '../../../lib/log.ts';
import { OutboundSchema } from '../../../server/config/schema.ts';
import { OutboundTrunks } from '../../../server/config/trunks.ts';
import { dial } from '../../../server/call/dial.ts';
import { SipStack } from '../../../server/sip/index.ts';
import { dominantFrequency, readStereoWav, tone } from '../../support/audio.ts';
import { startSipp } from '../../support/sipp.ts';

const here = dirname(fileURLToPath(import.meta.url));
// Ports 24950-24999 (this file): SIP 24950, the silent address 24951, the carrier 24952 (media 24954), RTP 24960-24989.
const SIP = 24950;
const SILENT = 24951;
const CARRIER = 24952;
const CARRIER_MEDIA = 24954;
const dir = mkdtempSync(join(tmpdir(), 'cc-failover-'));
let plane: MediaPlane;
let sip: SipStack;

const trunks = new OutboundTrunks(
  OutboundSchema.parse({
    numbering: { countryCode: '44' },
    trunks: {
      pair: {
        addresses: [
          { host: '127.0.0.1', port: SILENT },
          { host: '127.0.0.1', port: CARRIER },
        ],
        username: 'centre',
        password: 's3cret',
        callerId: { centre: '+442079460000' },
      },
    },
    routes: [{ prefix: '+', trunk: 'pair' }],
  }),
);

beforeAll(async () => {
  plane = await MediaPlane.start({
    workers: 1,
    listenIp: '127.0.0.1',
    rtpMinPort: 24960,
    rtpMaxPort: 24989,
    rtcMinPort: 24990,
    rtcMaxPort: 24999,
  });
  sip = new SipStack({ realm: 'centre.test' });
  await sip.listen({ udp: { host: '127.0.0.1', port: SIP } });
  writeFileSync(join(dir, 'tone.pcap'), g711Pcap(tone(800, 8000, { amp: 6000 }), 'PCMU'));
});
afterAll(async () => {
  await sip?.close();
  await plane?.stop();
});

describe('dial fails over across the carrier addresses', () => {
  it('an address that does not answer is skipped; the next answers, with audio', async () => {
    const carrier = startSipp({
      scenario: join(here, 'scenarios', 'carrier-answer.xml'),
      localPort: CARRIER,
      calls: 1,
      cwd: dir,
      timeoutSec: 40,
      args: ['-mp', String(CARRIER_MEDIA)],
    });
    const media = await plane.createCall('failover');
    try {
      const started = Date.now();
      const leg = await dial({ sip, trunks, log }, media, { number: '020 7946 0999' });
      const took = Date.now() - started;
      expect(leg.state).toBe('up');
      expect(trunks.active('pair')).toBe(1);
      // No ICMP from a closed loopback port reaches UDP senders reliably: the 3 s attempt timeout, or less.
      expect(took).toBeLessThan(6000);
      const rec = await media.record(join(dir, 'heard.wav'));
      await new Promise((r) => setTimeout(r, 3000));
      const summary = await rec.stop();
      leg.hangUp();
      expect(trunks.active('pair')).toBe(0);
      const r = await carrier.done;
      expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
      const w = readStereoWav(readFileSync(summary.path));
      const mid = w.left.subarray(Math.floor(w.left.length * 0.3), Math.floor(w.left.length * 0.8));
      expect(dominantFrequency(mid, w.rate, 300, 3000, 10).freq).toBeCloseTo(800, -1);
    } finally {
      media.close();
      await carrier.stop();
    }
  });
});
