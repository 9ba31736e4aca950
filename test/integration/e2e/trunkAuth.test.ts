/**
 * A carrier trunk that must authenticate: besides coming from an allowed address, the INVITE must
 * carry the trunk's digest credentials (407 challenge). sipp is the carrier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPcapUdp } from '../../../media/audio/pcap.ts';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { captureUdp } from '../../support/tcpdump.ts';
import { storedEvents } from '../../support/eventLog.ts';

let tc: TestCentre;
beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 15460, http: 18480, pg: 15833, rtc: 44400 },
    {
      edits: { 'centre.yaml': [['    from: [127.0.0.1]\n', '    from: [127.0.0.1]\n    username: carrier\n    password: s3cret-trunk\n']] },
    },
  );
});
afterAll(async () => {
  await tc?.stop();
});

const arrivedFrom = async (caller: string) =>
  (await storedEvents(tc.centre.store, Date.now() - 120_000, Date.now() + 60_000)).filter(
    (e) => e.type === 'contact.arrived' && (e as { caller: string }).caller === caller,
  );

describe('trunk digest authentication', () => {
  it("refuses a call without credentials or with wrong ones, and takes one with the trunk's own", async () => {
    // What the centre answered each INVITE, read off the wire (tcpdump on sipp's SIP port): the
    // status codes of responses to the INVITE with CSeq `cseq`.
    const call = async (sipPort: number, caller: string, auth?: { username: string; password: string }) => {
      const cap = await captureUdp(sipPort);
      const r = await placeDemoCall({
        target: `127.0.0.1:${tc.sipPort}`,
        holdMs: 3000,
        sipPort,
        mediaPort: 16400 + (sipPort - 15470) * 10,
        caller,
        ...(auth ? { auth } : {}),
      }).done;
      const sip = readPcapUdp(await cap.stop()).map((d) => d.payload.toString('latin1'));
      const answers = (cseq: number) => [
        ...new Set(
          sip
            .filter((m) => m.startsWith('SIP/2.0 ') && new RegExp(`^CSeq: ${cseq} INVITE\r$`, 'mi').test(m))
            .map((m) => Number(m.slice(8, 11))),
        ),
      ];
      return { ...r, answers };
    };
    // A sipp that never started exits 127 (or -1): each refused call must be one sipp really
    // placed, that failed (exit 1) because of what the centre answered.
    const noAuth = await call(15470, '15550101');
    expect(noAuth.code, noAuth.stderr.slice(-1500)).toBe(1);
    expect(noAuth.answers(1)).toEqual([407]);
    expect(noAuth.stderr).toMatch(/Aborting call on unexpected message.*received 'SIP\/2\.0 407 /s);

    // Wrong password: the centre challenges the credentialed INVITE again, every time, and never
    // lets it in. sipp takes each new 407 for a resend of the first (it re-sends its ACK) and gives
    // up when the INVITE's retransmissions time out; how it words that in its error log varies with
    // timing (a late 407 or 481 logged against the dead call), so the wire is what is checked.
    const wrong = await call(15471, '15550102', { username: 'carrier', password: 'guess' });
    expect(wrong.code, wrong.stderr.slice(-1500)).toBe(1);
    expect(wrong.answers(1)).toEqual([407]);
    expect(wrong.answers(2)).toEqual([407]);
    expect(wrong.stderr).not.toMatch(/SIP\/2\.0 (200|403) /);

    // An agent's credentials are not a trunk's: they verify, and are refused.
    const agent = await call(15472, '15550103', { username: '1001', password: 'alice1001' });
    expect(agent.code, agent.stderr.slice(-1500)).toBe(1);
    expect(agent.answers(2)).toEqual([403]);
    expect(agent.stderr).toMatch(/Aborting call on unexpected message.*received 'SIP\/2\.0 403 /s);

    const good = await call(15473, '15550104', { username: 'carrier', password: 's3cret-trunk' });
    expect(good.code, good.stderr.slice(-1500)).toBe(0);
    expect(good.answers(2)).toContain(200);
    expect(good.answers(2)).not.toContain(407);

    await tc.centre.store.flush();
    expect(await arrivedFrom('15550101')).toHaveLength(0);
    expect(await arrivedFrom('15550102')).toHaveLength(0);
    expect(await arrivedFrom('15550103')).toHaveLength(0);
    expect(await arrivedFrom('15550104')).toHaveLength(1);
  });
});
