/**
 * Pure parts of issue 19 against hand-computed truth: knowledge cards (front matter checked,
 * matching by queue, IVR variable, disposition and words), webhook signatures (HMAC-SHA256 over
 * timestamp.body, stale and forged refused) and back-off, number normalisation, the demo's
 * config/aftercall.yaml and config/knowledge validate, and a bad aftercall.yaml is refused with
 * the field named.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fillUrlTemplate, loadAfterCallConfig } from '../../../server/customers/config.ts';
import { normaliseNumber } from '../../../server/customers/number.ts';
import { loadCards, matchCards, parseCard, type KnowledgeCard } from '../../../server/knowledge/cards.ts';
import { backoffMs, signature, verify } from '../../../server/webhooks/sign.ts';

const card = (id: string, front: string): KnowledgeCard => {
  const r = parseCard(id, `---\n${front}\n---\nbody of ${id}\n`);
  if (!r.ok) throw new Error(r.error);
  return r.card;
};

describe('knowledge cards', () => {
  const cards = [
    card('refunds', 'title: Refunds\nmatch: { queues: [sales], dispositions: [refund], words: [refund] }'),
    card('outage', 'title: Outage\nmatch: { ivr: { reason: [outage, down] }, words: [outage] }'),
    card('sales-intro', 'title: Sales\nmatch: { queues: [sales] }'),
  ];
  it('scores queue 1, IVR variable 3, disposition 2, word 1; a queue-bound card needs its queue', () => {
    const m = matchCards(cards, { queue: 'sales', ivr: { reason: 'down' }, dispositions: ['Refund'], text: 'wants a refund' });
    expect(m.map((x) => [x.card.id, x.score])).toEqual([
      ['refunds', 4], // queue 1 + disposition 2 + word 1
      ['outage', 3], // ivr 3
      ['sales-intro', 1],
    ]);
    expect(matchCards(cards, { queue: 'support', dispositions: ['refund'] }).map((x) => x.card.id)).toEqual([]);
    // A card with other reasons does not match on its queue alone.
    expect(matchCards(cards, { queue: 'sales' }).map((x) => x.card.id)).toEqual(['sales-intro']);
  });
  it('refuses a card without front matter, without a title or without any match', () => {
    expect(parseCard('x', 'no front matter')).toMatchObject({ ok: false });
    expect(parseCard('x', '---\nmatch: { words: [a1] }\n---\n')).toMatchObject({ ok: false, error: expect.stringMatching(/title/) });
    expect(parseCard('x', '---\ntitle: T\nmatch: {}\n---\n')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/at least one match/),
    });
  });
  it("the demo's cards and aftercall.yaml validate", () => {
    const k = loadCards('config');
    expect(k.ok && k.cards.map((c) => c.id)).toEqual(['outage', 'refunds']);
    const c = loadAfterCallConfig('config');
    expect(c.ok).toBe(true);
  });
  it('a bad aftercall.yaml is refused with the field named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aftercall-'));
    writeFileSync(join(dir, 'aftercall.yaml'), 'workOrders:\n  sla: [{ category: nope, resolveSec: 10 }]\n');
    const r = loadAfterCallConfig(dir);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.join()).toMatch(/workOrders\.sla\.0\.category: unknown category "nope"/);
    writeFileSync(join(dir, 'aftercall.yaml'), 'webhooks: [{ name: a, url: "ftp://x", secret: short, events: [] }]\n');
    const w = loadAfterCallConfig(dir);
    expect(!w.ok && w.errors.length).toBeGreaterThanOrEqual(3);
  });
});

describe('webhook signatures', () => {
  const body = '{"type":"contact.ended"}';
  const t = 1_780_000_000_000;
  it('is HMAC-SHA256 of "timestamp.body" in hex', () => {
    const mac = createHmac('sha256', 'k'.repeat(16)).update(`${t}.${body}`).digest('hex');
    expect(signature('k'.repeat(16), t, body)).toBe(`t=${t},v1=${mac}`);
  });
  it('verifies a good one; refuses a forged body, a wrong secret, a stale timestamp, garbage', () => {
    const s = signature('k'.repeat(16), t, body);
    expect(verify('k'.repeat(16), s, body, t + 1000)).toEqual({ ok: true, timestamp: t });
    expect(verify('k'.repeat(16), s, body + ' ', t)).toMatchObject({ ok: false, error: 'bad signature' });
    expect(verify('x'.repeat(16), s, body, t)).toMatchObject({ ok: false, error: 'bad signature' });
    expect(verify('k'.repeat(16), s, body, t + 6 * 60_000)).toMatchObject({ ok: false, error: 'stale signature' });
    expect(verify('k'.repeat(16), 'nonsense', body, t)).toMatchObject({ ok: false });
    expect(verify('k'.repeat(16), undefined, body, t)).toMatchObject({ ok: false });
  });
  it('backs off 1, 2, 4, 8 s … capped', () => {
    expect([1, 2, 3, 4, 10, 40].map((n) => backoffMs(n, 1000, 300_000))).toEqual([1000, 2000, 4000, 8000, 300_000, 300_000]);
  });
});

describe('numbers and URL templates', () => {
  it('normalises the spellings a trunk sends', () => {
    expect(normaliseNumber('+44 20 7946 0019')).toBe('+442079460019');
    expect(normaliseNumber('sip:+442079460019@carrier;user=phone')).toBe('+442079460019');
    expect(normaliseNumber('0044 (20) 7946-0019')).toBe('+442079460019');
    expect(normaliseNumber('tel:15550004')).toBe('15550004');
    expect(normaliseNumber('anonymous')).toBeUndefined();
  });
  it('fills a CRM URL template with encoded values', () => {
    expect(fillUrlTemplate('https://crm/x?p={{number}}&c={{ customerId }}&z={{none}}', { number: '+44 1', customerId: 'a&b' })).toBe(
      'https://crm/x?p=%2B44%201&c=a%26b&z=',
    );
  });
});
