/**
 * After the call (issue 19), end to end with real peers: sipp calls twice from the same number into
 * the demo IVR (1 → sales), baresip answers as agent 1004; after the first call the agent writes its
 * wrap-up (disposition, note, a billing work order) through POST /api/v1/contacts/{id}/wrapup with
 * the desktop's Bearer session, and the second call's screen pop shows the first call's disposition
 * and note, the open work order and the knowledge card the disposition matches. The work order's
 * SLA (3 s in this test's config) breaches and escalates on the centre's timer (reassign, raise the
 * priority, notify). A real HTTP receiver on 127.0.0.1 that is down during the first call gets
 * every contact and work-order event afterwards, each signed; survey answers in the event log reach
 * the survey report with hand-computed NPS and FCR.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeDemoCall } from '../../../server/call/demoCaller.ts';
import { normaliseNumber } from '../../../server/customers/number.ts';
import { PgCustomerStore } from '../../../server/store/customers.ts';
import { verify } from '../../../server/webhooks/sign.ts';
import { startDeskPhone, type DeskPhone } from '../../support/baresip.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';

const SECRET = 'test-secret-0123456789abcdef';
const RECEIVER_PORT = 38050;
const CALLER = '+442079460019';

let tc: TestCentre;
let phone: DeskPhone;
let token: string;
const received: { type: string; data: Record<string, unknown>; ok: boolean; delivery: string }[] = [];
let receiver: Server | undefined;

function startReceiver(): Promise<Server> {
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const v = verify(SECRET, req.headers['x-cc-signature'] as string | undefined, body, Date.now());
      const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      received.push({ type: parsed.type, data: parsed.data, ok: v.ok, delivery: String(req.headers['x-cc-delivery']) });
      res.writeHead(v.ok ? 204 : 401).end();
    });
  });
  return new Promise((resolve) => srv.listen(RECEIVER_PORT, '127.0.0.1', () => resolve(srv)));
}

const api = async (path: string, init: RequestInit & { auth?: string } = {}) => {
  const res = await fetch(new URL(path, tc.httpUrl), {
    ...init,
    headers: { 'content-type': 'application/json', authorization: init.auth ?? `Bearer ${token}`, ...(init.headers ?? {}) },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> & Record<string, never> };
};
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

beforeAll(async () => {
  tc = await startTestCentre(
    { sip: 38060, http: 38080, pg: 38433, rtc: 38100 },
    {
      edits: {
        'aftercall.yaml': [
          [
            'webhooks: []',
            `webhooks:\n  - { name: crm, url: "http://127.0.0.1:${RECEIVER_PORT}/hook", secret: ${SECRET}, events: [contact.offered, contact.answered, contact.ended, contact.wrapup, recording.saved, workorder.created, workorder.escalated] }`,
          ],
          ['webhookRetry: { baseSec: 1, maxSec: 300 }', 'webhookRetry: { baseSec: 0.5, maxSec: 2 }'],
          [
            '    - { priority: urgent, resolveSec: 3600 }',
            '    - { category: billing, priority: high, resolveSec: 3, escalations: [{ afterSec: 3, notify: ["group:team-leads"], reassign: { kind: group, id: billing-desk }, raisePriority: true }] }\n    - { priority: urgent, resolveSec: 3600 }',
          ],
        ],
      },
    },
  );
  phone = await startDeskPhone({
    dir: join(tc.dataDir, 'baresip'),
    user: '1004',
    password: 'dave1004',
    registrar: `127.0.0.1:${tc.sipPort}`,
    listenPort: 38390,
    rtpPorts: [38400, 38460],
    toneHz: 600,
  });
  const login = await api('/api/v1/agent/login', {
    method: 'POST',
    body: JSON.stringify({ agent: '1004', password: 'dave1004' }),
    auth: '',
  });
  expect(login.status).toBe(200);
  token = login.body.token as unknown as string;
});
afterAll(async () => {
  await phone?.stop();
  await tc?.stop();
  await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
});

/** One call from CALLER answered by the desk phone; returns its contact id and the screen pop taken while talking. */
async function callAndPop(sipPort: number, mediaPort: number) {
  await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'available', { timeoutMs: 15_000, what: 'agent 1004 available' });
  const call = placeDemoCall({ target: `127.0.0.1:${tc.sipPort}`, digits: '1', holdMs: 7000, sipPort, mediaPort, caller: CALLER });
  await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'on-call', { timeoutMs: 20_000, what: 'the desk phone to answer' });
  const contactId = tc.centre.acd.agentView('1004')!.callId!;
  const pop = await api('/api/v1/screen-pop');
  const r = await call.done;
  expect(r.code, r.stderr.slice(-1500)).toBe(0);
  await waitFor(() => tc.centre.acd.agentView('1004')?.state === 'wrap-up', { timeoutMs: 10_000, what: 'wrap-up' });
  await tc.centre.store.flush();
  return { contactId, pop };
}

describe('after the call: screen pop, work orders, webhooks', () => {
  it("the second call's screen pop shows the first call's disposition and note; the work order escalates; webhooks arrive signed after the receiver comes up", async () => {
    // Call 1: the receiver is down.
    const first = await callAndPop(38370, 38600);
    expect(first.pop.status).toBe(200);
    expect(first.pop.body).toMatchObject({ contactId: first.contactId, caller: CALLER, queue: 'sales', previousContacts: [] });
    expect(first.pop.body.crmUrl).toBe(`https://crm.example.com/customers?phone=${encodeURIComponent(CALLER)}`);

    // Another agent may not write this contact's wrap-up; a bad body is a 400 naming the field.
    expect((await api(`/api/v1/contacts/${first.contactId}/wrapup`, { method: 'POST', body: JSON.stringify({ note: 5 }) })).status).toBe(
      400,
    );
    const wrap = await api(`/api/v1/contacts/${first.contactId}/wrapup`, {
      method: 'POST',
      body: JSON.stringify({
        disposition: 'refund',
        note: 'Wants a refund for order 42',
        workOrder: { category: 'billing', priority: 'high', subject: 'Refund order 42' },
        endWrapUp: true,
      }),
    });
    expect(wrap.status, JSON.stringify(wrap.body)).toBe(201);
    const wo = wrap.body.workOrder as unknown as { id: string; priority: string; owner: { kind: string; id: string } };
    expect(wo).toMatchObject({ priority: 'high', owner: { kind: 'agent', id: '1004' }, state: 'open' });
    expect(tc.centre.acd.agentView('1004')?.state).toBe('available'); // endWrapUp ended it

    // Call 2 from the same number.
    const second = await callAndPop(38371, 38610);
    expect(second.pop.status).toBe(200);
    const prev = second.pop.body.previousContacts as unknown as {
      contactId: string;
      disposition?: string;
      note?: string;
      agentId?: string;
    }[];
    expect(prev[0]).toMatchObject({
      contactId: first.contactId,
      disposition: 'refund',
      note: 'Wants a refund for order 42',
      agentId: '1004',
      queue: 'sales',
    });
    expect((second.pop.body.openWorkOrders as unknown as { id: string }[]).map((w) => w.id)).toEqual([wo.id]);
    const cards = second.pop.body.cards as unknown as { id: string; why: string[] }[];
    expect(cards[0]).toMatchObject({ id: 'refunds' });
    expect(cards[0]!.why).toContain('disposition:refund');
    expect((second.pop.body.customer as unknown as { numbers: string[] }).numbers).toEqual([CALLER]);
    // The second call is a complaint: the rule (aftercall.yaml) opens a complaint work order for the complaints desk, priority high.
    const complaint = await api(`/api/v1/contacts/${second.contactId}/wrapup`, {
      method: 'POST',
      body: JSON.stringify({ disposition: 'refund-late', note: 'Still no refund', complaint: true, endWrapUp: true }),
    });
    expect(complaint.status).toBe(201);
    expect(complaint.body.workOrder).toMatchObject({
      category: 'complaint',
      complaint: true,
      priority: 'high',
      owner: { kind: 'group', id: 'complaints-desk' },
    });

    // A click on the card counts: 1 click over 1 showing.
    expect(
      (await api('/api/v1/knowledge/cards/refunds/click', { method: 'POST', body: JSON.stringify({ contactId: second.contactId }) }))
        .status,
    ).toBe(200);
    const stats = await api('/api/v1/knowledge/cards', { auth: basic('9001', 'sam9001') });
    expect(
      (stats.body.cards as unknown as { id: string; shown: number; clicks: number; clickThrough: number }[]).find(
        (c) => c.id === 'refunds',
      ),
    ).toMatchObject({
      shown: 1,
      clicks: 1,
      clickThrough: 1,
    });

    // Search by number in another spelling; the customer file lists both contacts.
    const found = await api(`/api/v1/customers?number=${encodeURIComponent('0044 20 7946 0019')}`, { auth: basic('9001', 'sam9001') });
    const customer = (found.body.customers as unknown as { id: string }[])[0]!;
    const file = await api(`/api/v1/customers/${customer.id}`);
    expect((file.body.contacts as unknown as { contactId: string }[]).map((c) => c.contactId)).toEqual([second.contactId, first.contactId]);

    // The 3-second SLA breached long ago: escalated once (reassigned, high → urgent, notified).
    const got = await waitFor(
      async () => {
        const r = await api(`/api/v1/workorders/${wo.id}`);
        return (r.body as { escalationLevel?: number }).escalationLevel === 1 ? r.body : undefined;
      },
      { timeoutMs: 10_000, what: 'the work order to escalate' },
    );
    expect(got).toMatchObject({ priority: 'urgent', owner: { kind: 'group', id: 'billing-desk' }, state: 'open' });
    expect((got as unknown as { breachedAt: number; dueAt: number }).breachedAt).toBe((got as unknown as { dueAt: number }).dueAt);
    const history = (got as unknown as { history: { kind: string }[] }).history.map((h) => h.kind);
    expect(history).toEqual(['created', 'escalated']);

    // A transition the config does not allow is a 409; an allowed one closes the order.
    expect((await api(`/api/v1/workorders/${wo.id}`, { method: 'PATCH', body: JSON.stringify({ state: 'nowhere' }) })).status).toBe(409);
    const closed = await api(`/api/v1/workorders/${wo.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ state: 'resolved', comment: 'refunded' }),
    });
    expect(closed.body).toMatchObject({ state: 'resolved' });
    const rep = await api('/api/v1/reports/workorders?from=today&to=tomorrow', { auth: basic('9001', 'sam9001') });
    // Two orders: the billing one closed after its 3 s SLA (missed), the complaint open within its 4 h; one complaint in two answered contacts.
    expect(rep.body).toMatchObject({
      created: 2,
      closed: 1,
      open: 1,
      slaDecided: 1,
      slaMet: 0,
      slaMetRate: 0,
      topCategories: [
        { category: 'billing', count: 1 },
        { category: 'complaint', count: 1 },
      ],
      complaints: { workOrders: 1, closed: 0, avgTimeToResolveSec: null, contacts: 1, contactsHandled: 2, complaintRate: 0.5 },
    });

    // The receiver comes up now: everything owed arrives, signed, once per event and hook.
    receiver = await startReceiver();
    const want = ['contact.offered', 'contact.answered', 'contact.ended', 'contact.wrapup', 'recording.saved'];
    await waitFor(
      () =>
        want.every((t) => received.some((r) => r.type === t && r.data.contactId === first.contactId)) &&
        ['workorder.created', 'workorder.escalated'].every((t) => received.some((r) => r.type === t))
          ? true
          : undefined,
      { timeoutMs: 30_000, what: 'the webhooks owed', detail: () => JSON.stringify(received.map((r) => r.type)) },
    );
    expect(received.every((r) => r.ok)).toBe(true);
    expect(new Set(received.map((r) => r.delivery)).size).toBe(received.length);
    // Both work orders (the billing one and the complaint's) were announced.
    const created = received.filter((r) => r.type === 'workorder.created').map((r) => (r.data.workOrder as { id: string }).id);
    expect(created).toContain(wo.id);
    expect(created).toHaveLength(2);
    const outbox = await tc.centre.store.pool.query<{ attempts: number }>(
      "SELECT attempts FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE e.contact_id = $1 AND e.type = 'contact.offered'",
      [first.contactId],
    );
    expect(outbox.rows[0]!.attempts).toBeGreaterThan(1); // it failed while the receiver was down
  });

  it('survey answers reach the survey report: NPS and FCR against hand-computed truth', async () => {
    const t = Date.now();
    // Three contacts answered in support, each with an NPS and an FCR answer (a real call's
    // survey writes these same events through the IVR's survey node).
    const rows: [string, number, number][] = [
      ['s1', 10, 1],
      ['s2', 6, 0],
      ['s3', 8, 1],
    ];
    for (const [id, nps, fcr] of rows) {
      const c = `survey-${id}-${t}`;
      const e = (seq: number, f: Record<string, unknown>) => tc.centre.store.emit({ contactId: c, seq, ts: t + seq, ...f });
      e(1, { type: 'contact.arrived', caller: '+15550100', dialled: '100' });
      e(2, { type: 'queue.enter', queue: 'support' });
      e(3, { type: 'queue.connect', queue: 'support', agentId: '1003' });
      e(4, { type: 'call.end', endedBy: 'agent' });
      e(5, { type: 'survey.answer', question: 'nps', value: nps, scale: 10 });
      e(6, { type: 'survey.answer', question: 'fcr', value: fcr, scale: 1 });
    }
    await tc.centre.store.flush();
    const r = await api(`/api/v1/reports/surveys?from=${t - 1}&to=${t + 60_000}`, { auth: basic('9001', 'sam9001') });
    expect(r.status).toBe(200);
    // NPS: promoters 1 (10), passives 1 (8), detractors 1 (6) → 0; FCR 2 of 3 = 0.6667.
    expect(r.body).toMatchObject({
      nps: { answers: 3, promoters: 1, passives: 1, detractors: 1, score: 0 },
      fcr: { answers: 3, resolved: 2, rate: 0.6667 },
      byQueue: { support: { nps: { score: 0 }, fcr: { rate: 0.6667 } } },
    });
    // And the main report's fcrSurveyRate reads the same answers.
    const q = await api(`/api/v1/reports/queues?from=${t - 1}&to=${t + 60_000}&interval=range&key=support`, {
      auth: basic('9001', 'sam9001'),
    });
    expect((q.body.rows as unknown as { fcrSurveyRate: number; fcrSurveyAnswers: number }[])[0]).toMatchObject({
      fcrSurveyAnswers: 3,
      fcrSurveyRate: 0.6667,
    });
  });

  it('the SQL number normalisation agrees with normaliseNumber', async () => {
    const s = new PgCustomerStore(tc.centre.store.pool);
    for (const raw of [
      '+44 20 7946 0019',
      'sip:+442079460019@carrier.example;user=phone',
      '0044 (20) 7946-0019',
      'tel:15550004',
      '15550004',
      'anonymous',
      '',
    ])
      expect(await s.normalise(raw), raw).toBe(normaliseNumber(raw) ?? null);
  });
});
