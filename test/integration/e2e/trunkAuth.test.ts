/**
 * A carrier trunk that must authenticate: besides coming from an allowed address, the INVITE must
 * carry the trunk's digest credentials (407 challenge). sipp is the carrier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';

let tc: TestCentre;
beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 15460, http: 18480, pg: 15833, rtc: 44400 },
    { edits: { 'centre.yaml': [['    from: [127.0.0.1]\n', '    from: [127.0.0.1]\n    username: carrier\n    password: s3cret-trunk\n']] } },
  );
});
afterAll(async () => {
  await tc?.stop();
});

const arrivedFrom = async (caller: string) =>
  (await tc.centre.store.events(Date.now() - 120_000, Date.now() + 60_000)).filter((e) => e.type === 'contact.arrived' && (e as { caller: string }).caller === caller);

describe('trunk digest authentication', () => {
  it('refuses a call without credentials or with wrong ones, and takes one with the trunk\'s own', async () => {
    const noAuth = await placeDemoCall({ target: `127.0.0.1:${tc.sipPort}`, holdMs: 3000, sipPort: 15470, mediaPort: 16400, caller: '15550101' }).done;
    expect(noAuth.code).not.toBe(0);
    expect(noAuth.stderr).toMatch(/407/);

    const wrong = await placeDemoCall({ target: `127.0.0.1:${tc.sipPort}`, holdMs: 3000, sipPort: 15471, mediaPort: 16410, caller: '15550102', auth: { username: 'carrier', password: 'guess' } }).done;
    expect(wrong.code).not.toBe(0);

    // An agent's credentials are not a trunk's.
    const agent = await placeDemoCall({ target: `127.0.0.1:${tc.sipPort}`, holdMs: 3000, sipPort: 15472, mediaPort: 16420, caller: '15550103', auth: { username: '1001', password: 'alice1001' } }).done;
    expect(agent.code).not.toBe(0);
    expect(agent.stderr).toMatch(/403/);

    const good = await placeDemoCall({ target: `127.0.0.1:${tc.sipPort}`, holdMs: 4000, sipPort: 15473, mediaPort: 16430, caller: '15550104', auth: { username: 'carrier', password: 's3cret-trunk' } }).done;
    expect(good.code, good.stderr.slice(-1500)).toBe(0);

    await tc.centre.store.flush();
    expect(await arrivedFrom('15550101')).toHaveLength(0);
    expect(await arrivedFrom('15550102')).toHaveLength(0);
    expect(await arrivedFrom('15550103')).toHaveLength(0);
    expect(await arrivedFrom('15550104')).toHaveLength(1);
  });
});
