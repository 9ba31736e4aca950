/**
 * The OpenAPI document against the code: every /api/v1 path the handlers' source names is a
 * documented path, every documented request example validates against the zod schema the handler
 * uses (and so against the document's JSON Schema, generated from it), and the document is
 * well-formed OpenAPI 3.1 in the parts clients read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiRoutes, openApiDocument } from '../../../server/http/openapi.ts';

const doc = openApiDocument() as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; responses: object }>> };
const templates = Object.keys(doc.paths).map((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`));
const documented = (path: string) => templates.some((t) => t.test(path));

/** Every '/api/v1/…' path literal (and the paths route comments list) in the HTTP edge's source. */
function pathsInSource(): string[] {
  const files = [...readdirSync('server/http').map((f) => join('server/http', f)), 'server/call/centre.ts'].filter((f) =>
    f.endsWith('.ts'),
  );
  const out = new Set<string>();
  for (const f of files) {
    if (f.endsWith('openapi.ts')) continue;
    for (const m of readFileSync(f, 'utf8').matchAll(/\/api\/v1\/[A-Za-z0-9_./{}|-]*[A-Za-z0-9}]/g)) out.add(m[0]);
  }
  return [...out];
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with a 200 for every operation', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [m, op] of Object.entries(ops)) expect(op.responses, `${m} ${path}`).toHaveProperty('200');
  });

  it('documents every /api/v1 path the handlers name', () => {
    const missing: string[] = [];
    for (const p of pathsInSource()) {
      // A prefix the handler matches on ('/api/v1/agent/', '/api/v1/planning') is covered when some path starts with it.
      const prefixOnly = p.endsWith('/') || !/\/[^/]+$/.test(p);
      const expanded = p.replace(/\{([^}]+)\}/g, (_m, alts: string) => alts.split('|')[0]!).replace(/\/$/, '');
      const ok =
        documented(expanded) ||
        (prefixOnly && Object.keys(doc.paths).some((d) => d.startsWith(p))) ||
        Object.keys(doc.paths).some((d) => d.startsWith(`${p}/`));
      if (!ok) missing.push(p);
    }
    expect(missing).toEqual([]);
    // The call-control operations are there.
    for (const p of [
      '/api/v1/agent/call/hold',
      '/api/v1/agent/call/resume',
      '/api/v1/agent/call/mute',
      '/api/v1/agent/call/dtmf',
      '/api/v1/agent/call/transfer',
      '/api/v1/agent/wrapup',
    ])
      expect(doc.paths[p]?.post, p).toBeDefined();
  });

  it('validates every request example with the schema the handler uses', () => {
    const withBody = apiRoutes().filter((r) => r.body);
    expect(withBody.length).toBeGreaterThan(8);
    for (const r of withBody) {
      expect(r.example, `${r.method} ${r.path} has an example`).toBeDefined();
      const v = r.body!.safeParse(r.example);
      expect(v.success, `${r.method} ${r.path}: ${JSON.stringify(v.error?.issues)}`).toBe(true);
      expect(doc.paths[r.path]![r.method.toLowerCase()]!.requestBody).toBeDefined();
    }
  });

  it('a wrong body is refused by the same schema', () => {
    const transfer = apiRoutes().find((r) => r.path === '/api/v1/agent/call/transfer')!;
    expect(transfer.body!.safeParse({ queue: 'a', agent: 'b' }).success).toBe(false);
    expect(transfer.body!.safeParse({}).success).toBe(false);
  });
});
