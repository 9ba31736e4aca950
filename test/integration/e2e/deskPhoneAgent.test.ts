/**
 * The same first call with a SIP desk phone as the agent: baresip registers as agent 1004 (which
 * logs the agent in, ready), sipp dials in and presses 1, baresip answers on its own; tones are
 * checked at both ends and in the recording, and Postgres holds the call.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeG711 } from '../../../media/audio/g711.ts';
import { rtpFromPcap } from '../../../media/audio/pcap.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { dominantFrequency, readStereoWav, wavToMono8k } from '../../support/audio.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { openStore } from '../../../server/store/store.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { captureUdp } from '../../support/tcpdump.ts';
import { waitFor } from '../../support/waitFor.ts';
import { storedEvents } from '../../support/eventLog.ts';

let tc: TestCentre;
let phone: DeskPhone;

// Shared state: one centre and one registered desk phone (agent 1004) for the file. Each test finds
// its own call by caller number; the last one stops the centre.
beforeAll(async () => {
  tc = await startTestCentre({ sip: 15360, http: 18380, pg: 15733, rtc: 44000 });
  phone = await startDeskPhone({
    dir: join(tc.dataDir, 'baresip'),
    user: '1004',
    password: 'dave1004',
    registrar: `127.0.0.1:${tc.sipPort}`,
    listenPort: 15390,
    rtpPorts: [30200, 30300],
    toneHz: 600,
  });
});
afterAll(async () => {
  await phone?.stop();
  await tc?.stop();
});

const mid = (x: Int16Array): Int16Array => x.subarray(Math.floor(x.length * 0.4), Math.floor(x.length * 0.7));

describe('trunk → IVR → queue → desk phone agent', () => {
  it('registering logs the agent in; the call is answered, two-way, recorded and reported', async () => {
    expect(tc.centre.acd.agentView('1004')?.state).toBe('available');
    const started = Date.now();
    const cap = await captureUdp(16300);
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      toneHz: 1000,
      holdMs: 10_000,
      sipPort: 15370,
      mediaPort: 16300,
      caller: '15550004',
    });
    const r = await call.done;
    expect(r.code, r.stderr.slice(-1500)).toBe(0);

    // The caller heard the phone's 600 Hz; the phone heard the caller's 1000 Hz.
    const rtp = rtpFromPcap(await cap.stop(), 16300).filter((p) => p.payloadType === 0);
    const heardByCaller = decodeG711('PCMU', Buffer.concat(rtp.slice(-150, -25).map((p) => p.payload)));
    expect(dominantFrequency(heardByCaller, 8000, 300, 3000, 10).freq).toBeCloseTo(600, -1);
    // baresip's sndfile writes what it hears and completes the WAV when the call closes: wait for
    // a readable file of several seconds (the caller spoke for ~7 s after pressing 1).
    const heardByPhone = await waitFor(
      () => {
        const f = phone.heardWav();
        const x = f ? wavToMono8k(readFileSync(f)) : undefined;
        return x && x.length >= 8000 * 3 ? x : undefined;
      },
      { timeoutMs: 10_000, what: "baresip's recording of the call", detail: () => phone.output().slice(-2000) },
    );
    expect(dominantFrequency(mid(heardByPhone), 8000, 300, 3000, 10).freq).toBeCloseTo(1000, -1);

    expect(tc.centre.acd.agentView('1004')?.state).toBe('wrap-up');
    tc.centre.acd.endWrapUp('1004');
    await tc.centre.store.flush();
    const cdr = (await tc.centre.store.calls({ from: started - 60_000, to: Date.now() + 60_000 })).find((c) => c.caller === '15550004');
    expect(cdr).toMatchObject({ queue: 'sales', agentId: '1004', handled: true, caller: '15550004', recordings: 1 });
    const rec = (await storedEvents(tc.centre.store, started - 60_000, Date.now() + 60_000)).find(
      (e) => e.type === 'recording.started' && e.contactId === cdr!.contactId,
    );
    const stereo = readStereoWav(readFileSync((rec as { path: string }).path));
    expect(dominantFrequency(mid(stereo.left), stereo.rate, 300, 3000, 10).freq).toBeCloseTo(1000, -1);
    expect(dominantFrequency(mid(stereo.right), stereo.rate, 300, 3000, 10).freq).toBeCloseTo(600, -1);
  });

  it('stopping the centre ends a call in progress with a BYE and keeps its record', async () => {
    // The phone registered in beforeAll makes 1004 available; a call before this one must be over.
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 10_000, what: 'agent 1004 to be available' });
    const call = placeDemoCall({
      target: `127.0.0.1:${tc.sipPort}`,
      digits: '1',
      holdMs: 30_000,
      sipPort: 15371,
      mediaPort: 16310,
      caller: '15550005',
    });
    await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 20_000, what: 'the desk phone to answer' });
    const [contactId] = [...tc.centre.calls.keys()];
    await tc.centre.stop();
    const r = await call.done;
    expect(r.stderr).toMatch(/unexpected BYE/); // the caller was hung up on, not left in silence

    // Reopen the stopped centre's database: the call ended with cause "shutdown".
    const store = await openStore({ embedded: { dataDir: join(tc.dataDir, 'postgres'), port: 15733 }, readOnly: true });
    try {
      const end = (await storedEvents(store, Date.now() - 120_000, Date.now() + 60_000)).find(
        (e) => e.contactId === contactId && e.type === 'call.end',
      );
      expect(end).toMatchObject({ endedBy: 'system', cause: 'shutdown' });
    } finally {
      await store.close();
    }
  });
});
