/**
 * Outbound trunks: numbering to E.164, first-match routing, the Request-URI per trunk format and
 * carrier address, caller-ID policy, the per-trunk call limit, and the config's positioned errors.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../server/config/load.ts';
import { OutboundSchema } from '../../../server/config/schema.ts';
import { DialError, formatNumber, normaliseNumber, OutboundTrunks } from '../../../server/config/trunks.ts';

const numbering = OutboundSchema.shape.numbering.parse({ countryCode: '36', nationalPrefix: '06', internationalPrefix: '00' });

const plan = OutboundSchema.parse({
  numbering: { countryCode: '44', rules: [{ match: '(\\d{4})', replace: '+44207946$1' }] },
  trunks: {
    uk: {
      addresses: [{ host: '192.0.2.10' }, { host: '192.0.2.11', port: 5070, transport: 'tcp' }],
      username: 'centre',
      password: 's3cret',
      callerId: { policy: 'agent', centre: '+442079460000', queues: { sales: '+442079460001' }, agents: { '1001': '+442079461001' } },
      format: 'national',
      maxCalls: 2,
    },
    world: { domain: 'sip.carrier.example', callerId: { centre: '+442079460000' }, format: 'digits', ringTimeoutSec: 20 },
  },
  routes: [
    { prefix: '+44', trunk: 'uk' },
    { match: '\\+1\\d{10}', trunk: 'world' },
    { prefix: '+36', trunk: 'world' },
  ],
});

describe('numbering', () => {
  it('makes national, international and already-E.164 numbers E.164', () => {
    expect(normaliseNumber('06 1 234-5678', numbering)).toBe('+3612345678');
    expect(normaliseNumber('0044 20 7946 0000', numbering)).toBe('+442079460000');
    expect(normaliseNumber('+44 (20) 7946.0000', numbering)).toBe('+442079460000');
  });
  it('applies the first matching rule first (short codes)', () => {
    expect(new OutboundTrunks(plan).target('1234').e164).toBe('+442079461234');
  });
  it('refuses what is not a number or not a whole one', () => {
    for (const bad of ['12345', 'abc', '+0123', '+1234567890123456', ''])
      expect(() => normaliseNumber(bad, numbering), bad).toThrow(DialError);
    try {
      normaliseNumber('12345', numbering);
    } catch (e) {
      expect((e as DialError).code).toBe('bad-number');
      expect((e as DialError).status).toBe(422);
    }
  });
  it('writes the number as the trunk wants it', () => {
    expect(formatNumber('+3612345678', 'national', numbering)).toBe('0612345678');
    expect(formatNumber('+442079460000', 'national', numbering)).toBe('00442079460000');
    expect(formatNumber('+3612345678', 'digits', numbering)).toBe('3612345678');
    expect(formatNumber('+3612345678', 'e164', numbering)).toBe('+3612345678');
  });
});

describe('routing', () => {
  const t = new OutboundTrunks(plan);
  it('picks the first matching route and builds one Request-URI per carrier address', () => {
    expect(t.target('020 7946 0999')).toEqual({
      trunk: 'uk',
      e164: '+442079460999',
      user: '02079460999',
      uris: ['sip:02079460999@192.0.2.10:5060', 'sip:02079460999@192.0.2.11:5070;transport=tcp'],
      domain: '192.0.2.10',
      auth: { username: 'centre', password: 's3cret' },
      ringTimeoutMs: 45_000,
      maxCalls: 2,
    });
    const us = t.target('001 212 555 0100');
    expect(us).toMatchObject({ trunk: 'world', e164: '+12125550100', user: '12125550100', uris: ['sip:12125550100@sip.carrier.example'] });
    expect(us.ringTimeoutMs).toBe(20_000);
    expect(us.auth).toBeUndefined();
    expect(t.target('+3612345678').trunk).toBe('world');
  });
  it('says clearly when no trunk serves the number, or there is no outbound config', () => {
    expect(() => t.target('+33 1 23 45 67 89')).toThrow(/no outbound trunk serves \+33123456789/);
    expect(() => new OutboundTrunks(undefined).target('+442079460000')).toThrow(/no outbound trunk is configured/);
  });
  it('presents the agent, the queue or the centre number by policy', () => {
    expect(t.callerId('uk', { agentId: '1001', queue: 'sales' })).toBe('+442079461001');
    expect(t.callerId('uk', { agentId: '1002', queue: 'sales' })).toBe('+442079460001');
    expect(t.callerId('uk', { agentId: '1002' })).toBe('+442079460000');
    expect(t.callerId('world', { agentId: '1001', queue: 'sales' })).toBe('+442079460000');
  });
  it('holds the per-trunk limit, releases each slot once, and keeps counts across a reload', () => {
    const x = new OutboundTrunks(plan);
    const target = x.target('+442079460999');
    const a = x.acquire(target);
    const b = x.acquire(target);
    expect(() => x.acquire(target)).toThrow(/outbound trunk "uk" is at its limit of 2 calls/);
    a();
    a(); // twice is once
    expect(x.active('uk')).toBe(1);
    x.configure(plan);
    expect(x.active('uk')).toBe(1);
    const c = x.acquire(x.target('+442079460999'));
    expect(x.active('uk')).toBe(2);
    b();
    c();
    expect(x.active('uk')).toBe(0);
    // another trunk has its own count (and no limit)
    for (let i = 0; i < 5; i++) x.acquire(x.target('+3612345678'));
    expect(x.active('world')).toBe(5);
  });
});

describe('centre.yaml outbound: positioned errors', () => {
  const DEMO = path.resolve('config');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cc-outbound-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  const withCentre = (edit: (text: string) => string): string => {
    const dir = path.join(tmp, `c${++n}`);
    cpSync(DEMO, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}schema`) });
    const f = path.join(dir, 'centre.yaml');
    writeFileSync(f, edit(readFileSync(f, 'utf8')));
    return dir;
  };
  const lineOf = (dir: string, needle: string): number => {
    const text = readFileSync(path.join(dir, 'centre.yaml'), 'utf8');
    return text.slice(0, text.indexOf(needle)).split('\n').length;
  };

  it('the demo has a trunk to 127.0.0.1 that serves every number', () => {
    const r = loadConfig(DEMO, {});
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    const t = new OutboundTrunks(r.config.outbound);
    expect(t.target('020 7946 1234')).toMatchObject({
      trunk: 'carrier',
      e164: '+442079461234',
      uris: ['sip:+442079461234@127.0.0.1:5080'],
    });
    expect(t.callerId('carrier', { queue: 'support' })).toBe('+442079460002');
  });
  it('an unknown trunk in a route, a bad pattern, an unknown queue: each at its line', () => {
    const dir = withCentre((s) =>
      s
        .replace('      trunk: carrier', '      trunk: carier')
        .replace('  routes:\n    - prefix: "+"', '  routes:\n    - match: "(+"\n      trunk: carrier\n    - prefix: "+"'),
    );
    const errorsOf = (d: string) => {
      const r = loadConfig(d, {});
      expect(r.ok).toBe(false);
      return r.ok ? [] : r.errors;
    };
    const errors = errorsOf(dir);
    const find = (re: RegExp) => errors.find((e) => re.test(e.message));
    expect(find(/unknown outbound trunk "carier"/)?.line, JSON.stringify(errors)).toBe(lineOf(dir, 'trunk: carier'));
    expect(find(/bad number pattern/)?.line).toBe(lineOf(dir, 'match: "(+"'));
    // References to other files are checked once centre.yaml itself is valid.
    const q = withCentre((s) => s.replace('queues: { sales: "+442079460001"', 'queues: { saless: "+442079460001"'));
    expect(errorsOf(q).find((e) => /unknown queue "saless"/.test(e.message))?.line).toBe(lineOf(q, 'saless'));
  });
  it('a trunk with no carrier address, or two, is refused', () => {
    const dir = withCentre((s) =>
      s.replace('      host: 127.0.0.1          #', '      domain: x.example\n      host: 127.0.0.1          #'),
    );
    const r = loadConfig(dir, {});
    expect(r.ok ? [] : r.errors.map((e) => e.message)).toContain('an outbound trunk needs exactly one of host, addresses or domain');
    const bad = withCentre((s) => s.replace('"+442079460000"', '"02079460000"'));
    const r2 = loadConfig(bad, {});
    expect(r2.ok ? [] : r2.errors.map((e) => `${e.line} ${e.message}`)).toContain(
      `${lineOf(bad, 'centre: "02079460000"')} expected an E.164 number such as +442079460000`,
    );
  });
});
