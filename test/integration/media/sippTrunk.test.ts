/**
 * sipp as the carrier: its uac_pcap scenario plays Debian's g711a.pcap (PCMA speech) and the
 * dtmf_2833_{1,5,pound}.pcap RFC 4733 events into a trunk leg. The digits must be reported once
 * each, and the recording's left channel must hold the caller's speech (its energy envelope
 * matches the pcap's).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtmfDetector } from '../../../media/audio/dtmfDetector.ts';
import { decodeG711 } from '../../../media/audio/g711.ts';
import { MediaPlane, type MediaCall, type Recording } from '../../../media/index.ts';
import { envelopeMatch, readStereoWav, rms } from '../../support/audio.ts';
import { readPcapRtp } from './pcap.ts';
import { MiniUas } from './sipUas.ts';

const here = dirname(fileURLToPath(import.meta.url));
const PCAPS = '/usr/share/sip-tester';
const SIP_PORT = 35060;
const dir = mkdtempSync(join(tmpdir(), 'media-sipp-'));
let plane: MediaPlane;

beforeAll(async () => {
  plane = await MediaPlane.start({
    workers: 1,
    listenIp: '127.0.0.1',
    rtpMinPort: 35100,
    rtpMaxPort: 35999,
    rtcMinPort: 36000,
    rtcMaxPort: 36999,
  });
});
afterAll(async () => {
  await plane?.stop();
});

function runSipp(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, out });
    });
  });
}

describe('sipp uac_pcap into a trunk leg', () => {
  // CI installs sipp (scripts/test.sh): a missing peer fails here, it is not skipped.
  it('has sipp and its pcaps', () => {
    expect(existsSync('/usr/bin/sipp')).toBe(true);
    expect(existsSync(`${PCAPS}/g711a.pcap`)).toBe(true);
  });
  it('detects the RFC 4733 digits once each and records the caller on the left', async () => {
    const digits: string[] = [];
    let call: MediaCall | undefined;
    let rec: Recording | undefined;
    let recPath = '';
    const ended = new Promise<void>((resolveEnded) => {
      void MiniUas.open(SIP_PORT, {
        invite: async (sdp, callId) => {
          call = await plane.createCall(`sipp-${callId}`);
          call.on('dtmf', (d, i) => digits.push(`${d}:${i.source}`));
          const trunk = await call.createTrunkLeg();
          const answer = await trunk.answer(sdp);
          recPath = join(dir, 'sipp.wav');
          rec = await call.record(recPath);
          return answer;
        },
        bye: () => resolveEnded(),
      }).then((uas) => {
        void ended.finally(() => uas.close());
      });
    });
    const r = await runSipp([
      `127.0.0.1:${SIP_PORT}`,
      '-sf',
      join(here, 'fixtures', 'uac_pcap_dtmf.xml'),
      '-m',
      '1',
      '-i',
      '127.0.0.1',
      '-p',
      '35070',
      '-mp',
      '35080',
      '-timeout',
      '50s',
      '-timeout_error',
      '-nostdin',
      '-nd',
    ]);
    expect(r.code, r.out.slice(-2000)).toBe(0);
    await ended;
    const summary = await rec!.stop();
    call!.close();

    expect(digits).toEqual(['1:rfc4733', '5:rfc4733', '#:rfc4733']);

    const ref = decodeG711(
      'PCMA',
      Buffer.concat(
        readPcapRtp(`${PCAPS}/g711a.pcap`)
          .filter((p) => p.payloadType === 8)
          .map((p) => p.payload),
      ),
    );
    const w = readStereoWav(readFileSync(summary.path));
    expect(summary.durationMs).toBeGreaterThan(7000);
    expect(rms(w.left)).toBeGreaterThan(200);
    expect(rms(w.right)).toBe(0); // nobody talked to the caller
    const m = envelopeMatch(w.left, ref);
    if (process.env.MEDIA_TEST_VERBOSE) console.log('envelope match', m, envelopeMatch(w.left, ref.slice().reverse()));
    expect(m.corr).toBeGreaterThan(0.9);
    // and it is not just any loud signal: the reversed speech does not match as well
    expect(envelopeMatch(w.left, ref.slice().reverse()).corr).toBeLessThan(m.corr - 0.2);
  });

  it("talk-off: the in-band detector finds no key in the pcap's speech", () => {
    const speech = decodeG711(
      'PCMA',
      Buffer.concat(
        readPcapRtp(`${PCAPS}/g711a.pcap`)
          .filter((p) => p.payloadType === 8)
          .map((p) => p.payload),
      ),
    );
    expect(speech.length).toBeGreaterThan(8000 * 6);
    const found: string[] = [];
    const det = new DtmfDetector((d) => found.push(d.digit));
    for (let i = 0; i < speech.length; i += 240) det.process(speech.subarray(i, i + 240));
    expect(found).toEqual([]);
  });
});
