import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cc-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bin/callcentre.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, LOG_LEVEL: 'silent' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('callcentre CLI', () => {
  it('validate: exit 0 on the demo centre', () => {
    const r = cli('validate');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^config: valid \(version [0-9a-f]{12}\) — 6 agents, 3 queues, 1 calendars, \d+ prompts, 3 IVR flows \(demo, main, survey\)/,
    );
  });

  it('validate: exit 1 with file:line:column, path and message', () => {
    const dir = path.join(tmp, 'bad');
    cpSync(path.join(ROOT, 'config'), dir, { recursive: true });
    const f = path.join(dir, 'ivr/main.yaml');
    const text = readFileSync(f, 'utf8').replace('queue: support', 'queue: suport');
    writeFileSync(f, text);
    const line = text.slice(0, text.indexOf('suport')).split('\n').length;
    const r = cli('validate', '--config', dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${dir}/ivr/main.yaml:${line}:12 nodes.support.queue: unknown queue "suport"`);
    expect(r.err).toMatch(/1 error in /);
    const j = cli('validate', '--config', dir, '--json');
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out)).toEqual({
      ok: false,
      errors: [
        {
          file: 'ivr/main.yaml',
          line,
          column: 12,
          path: ['nodes', 'support', 'queue'],
          message: expect.stringMatching(/^unknown queue "suport"/),
        },
      ],
    });
  });

  it('validate: a broken aftercall.yaml or knowledge card is an error too (the server would only log it)', () => {
    const dir = path.join(tmp, 'side');
    cpSync(path.join(ROOT, 'config'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'aftercall.yaml'), 'webhooks: 3\n');
    writeFileSync(path.join(dir, 'knowledge', 'bad name!.md'), '# x\n');
    const r = cli('validate', '--config', dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${dir}/aftercall.yaml: webhooks:`);
    expect(r.err).toContain(`${dir}/knowledge/bad name!.md: file name must be letters, digits, _ . -`);
    expect(r.err).toMatch(/2 errors in /);
    const j = cli('validate', '--config', dir, '--json');
    expect(j.code).toBe(1);
    const parsed = JSON.parse(j.out) as { ok: boolean; errors: { file: string }[] };
    expect(parsed.ok).toBe(false);
    expect(parsed.errors.map((e) => e.file)).toEqual(['aftercall.yaml', 'knowledge/bad name!.md']);
  });

  it('ivr simulate: prints the path, prompts and queue; --at picks the holiday branch', () => {
    const open = cli('ivr', 'simulate', 'main', '--digits', '1,2', '--at', '2026-12-21T10:00', '--caller', '+15551234');
    expect(open.code).toBe(0);
    expect(open.out).toMatch(/▶ main-menu: "For sales press 1/);
    expect(open.out).toMatch(/path: +hours=open > welcome > menu\[1\]=1 > sales/);
    expect(open.out).toMatch(/queue: +sales \(priority 10\)/);
    const xmas = cli('ivr', 'simulate', 'main', '--digits', '1,2', '--at', '2026-12-25T10:00', '--json');
    expect(xmas.code).toBe(0);
    expect(JSON.parse(xmas.out)).toMatchObject({ summary: 'hours=holiday > holiday', outcome: 'completed', reason: 'holiday' });
  });

  it('ivr simulate: bad arguments get a clear error and exit 1', () => {
    expect(cli('ivr', 'simulate', 'nope')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/unknown flow "nope"; flows are demo, main, survey/),
    });
    expect(cli('ivr', 'simulate', 'main', '--at', 'tomorrow-ish')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/--at "tomorrow-ish"/),
    });
  });

  it('ivr graph: writes an SVG', () => {
    const out = path.join(tmp, 'g', 'main.svg');
    const r = cli('ivr', 'graph', 'main', '-o', out);
    expect(r.code).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(svg).toMatch(/<svg[\s\S]*<\/svg>/);
    expect(svg).toContain('key 1');
    expect(svg).toContain('For sales press 1');
  });
});
