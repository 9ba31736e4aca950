/**
 * server.sip.limits and server.http.limits in centre.yaml: defaults when absent, a bad CIDR or
 * value reported with its file position like every other config error.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../server/config/load.ts';
import { DEFAULT_SIP_LIMITS } from '../../../server/sip/limits.ts';
import { DEFAULT_HTTP_LIMITS } from '../../../server/http/limits.ts';

const DEMO = path.resolve(import.meta.dirname, '../../../config');
const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'cc-limits-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

let n = 0;
function centre(from: string, to: string): string {
  const dir = path.join(tmpRoot, `c${++n}`);
  cpSync(DEMO, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}schema`) });
  const file = path.join(dir, 'centre.yaml');
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`"${from}" not in centre.yaml`);
  writeFileSync(file, text.replace(from, to));
  return dir;
}

describe('limits in centre.yaml', () => {
  it('defaults to the engines’ defaults when absent', () => {
    const r = loadConfig(DEMO, {});
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    expect(r.config.server.sip.limits).toEqual(DEFAULT_SIP_LIMITS);
    expect(r.config.server.http.limits).toEqual(DEFAULT_HTTP_LIMITS);
  });

  it('takes settings, partial lockouts filled with defaults', () => {
    const dir = centre(
      '    tcpPort: 5060\n',
      '    tcpPort: 5060\n    limits:\n      allow: [10.0.0.0/8, "2001:db8::/32"]\n      rate: 50\n      lockout: { failures: 3 }\n',
    );
    const r = loadConfig(dir, {});
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    expect(r.config.server.sip.limits).toEqual({
      ...DEFAULT_SIP_LIMITS,
      allow: ['10.0.0.0/8', '2001:db8::/32'],
      rate: 50,
      lockout: { ...DEFAULT_SIP_LIMITS.lockout, failures: 3 },
    });
  });

  it('reports a bad allow entry, a zero rate and lockSec > maxSec with their positions', () => {
    const dir = centre(
      '    tcpPort: 5060\n',
      '    tcpPort: 5060\n    limits:\n      allow: [10.0.0.0/33]\n      rate: 0\n      lockout: { lockSec: 600, maxSec: 60 }\n',
    );
    const r = loadConfig(dir, {});
    if (r.ok) throw new Error('expected errors');
    const text = readFileSync(path.join(dir, 'centre.yaml'), 'utf8').split('\n');
    const lineOf = (needle: string): number => text.findIndex((l) => l.includes(needle)) + 1;
    const cidr = r.errors.find((e) => /CIDR/.test(e.message));
    expect(cidr).toMatchObject({ file: 'centre.yaml', path: ['server', 'sip', 'limits', 'allow', 0], line: lineOf('10.0.0.0/33') });
    expect(r.errors.find((e) => e.path.join('.') === 'server.sip.limits.rate')).toMatchObject({ line: lineOf('rate: 0') });
    expect(r.errors.find((e) => /lockSec must not exceed maxSec/.test(e.message))).toMatchObject({
      path: ['server', 'sip', 'limits', 'lockout', 'maxSec'],
      line: lineOf('lockSec: 600'),
    });
  });
});
