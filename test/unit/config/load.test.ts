import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatError, type ConfigError } from '../../../server/config/errors.ts';
import { loadConfig } from '../../../server/config/load.ts';

const DEMO = path.resolve(import.meta.dirname, '../../../config');
const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'cc-config-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

let n = 0;
/** A copy of the demo centre with `edits` applied: file -> [search, replace] pairs or whole text. */
function centre(edits: Record<string, [string, string][] | string> = {}): string {
  const dir = path.join(tmpRoot, `c${++n}`);
  cpSync(DEMO, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}schema`) });
  for (const [file, e] of Object.entries(edits)) {
    const abs = path.join(dir, file);
    if (typeof e === 'string') {
      writeFileSync(abs, e);
      continue;
    }
    let text = readFileSync(abs, 'utf8');
    for (const [from, to] of e) {
      if (!text.includes(from)) throw new Error(`test edit: "${from}" not in ${file}`);
      text = text.replace(from, to);
    }
    writeFileSync(abs, text);
  }
  return dir;
}

/** 1-based line and column of `needle` in the file. */
function posOf(dir: string, file: string, needle: string): { line: number; column: number } {
  const text = readFileSync(path.join(dir, file), 'utf8');
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`"${needle}" not in ${file}`);
  const before = text.slice(0, i).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

function errorsOf(dir: string, env: Record<string, string> = {}): ConfigError[] {
  const r = loadConfig(dir, env);
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.errors;
}

function only(errors: ConfigError[], re: RegExp): ConfigError {
  const hits = errors.filter((e) => re.test(e.message));
  if (hits.length !== 1) throw new Error(`expected one error matching ${re}, got:\n${errors.map((e) => formatError(e)).join('\n')}`);
  return hits[0]!;
}

describe('the demo centre', () => {
  it('loads, with defaults filled, paths resolved and everything frozen', () => {
    const r = loadConfig(DEMO, {}, '/srv/cc');
    if (!r.ok) throw new Error(r.errors.map((e) => formatError(e)).join('\n'));
    const c = r.config;
    expect(Object.keys(c.flows).sort()).toEqual(['demo', 'main', 'survey']);
    expect(c.agents.map((a) => a.id)).toEqual(['1001', '1002', '1003', '1004', '9001', '9002']);
    expect(c.agents.find((a) => a.id === '9001')?.role).toBe('supervisor');
    expect(Object.keys(c.queues).sort()).toEqual(['operator', 'sales', 'support']);
    expect(c.trunks.local?.routes).toEqual([
      { match: '^200$', flow: 'demo' },
      { match: '.*', flow: 'main' },
    ]);
    expect(c.server.sip.udpPort).toBe(5060);
    expect(c.server.http.port).toBe(8080);
    expect(c.server.database).toMatchObject({ embedded: true, dataDir: '/srv/cc/data/postgres' });
    expect(c.server.recordings.dir).toBe('/srv/cc/data/recordings');
    expect(c.prompts.welcome?.file).toBe(path.join(DEMO, 'prompts/welcome.wav'));
    expect(c.queues.operator?.offerTimeout).toBe(15); // ACD schema default
    expect(c.version).toMatch(/^[0-9a-f]{12}$/);
    expect(Object.isFrozen(c.flows.main?.nodes)).toBe(true);
  });

  it('takes server settings from the environment, and rejects bad values by name', () => {
    const r = loadConfig(DEMO, {
      CC_SIP_PORT: '5080',
      CC_HTTP_PORT: '9090',
      DATABASE_URL: 'postgres://u:p@127.0.0.1:5433/cc',
      CC_ANNOUNCED_ADDRESS: '203.0.113.7',
      CC_DATA_DIR: '/var/cc',
    });
    if (!r.ok) throw new Error('expected ok');
    expect(r.config.server.sip).toMatchObject({ udpPort: 5080, tcpPort: 5080 });
    expect(r.config.server.http.port).toBe(9090);
    expect(r.config.server.database).toMatchObject({ embedded: false, url: 'postgres://u:p@127.0.0.1:5433/cc' });
    expect(r.config.server.media.announcedAddress).toBe('203.0.113.7');
    expect(r.config.server.dataDir).toBe('/var/cc');
    // Recordings follow the data directory, so two centres from one checkout never share a folder.
    expect(r.config.server.recordings).toEqual({ dir: '/var/cc/recordings', retentionDays: 0 });

    const e = only(errorsOf(DEMO, { CC_HTTP_PORT: 'eighty' }), /CC_HTTP_PORT/);
    expect(e).toMatchObject({ file: 'env', path: ['CC_HTTP_PORT'] });
    expect(e.message).toMatch(/not a port number/);
  });

  it('is the same version for the same content, and a new one after an edit', () => {
    const version = (dir: string): string => {
      const r = loadConfig(dir);
      if (!r.ok) throw new Error('expected ok');
      return r.config.version;
    };
    expect(version(centre())).toBe(version(DEMO));
    expect(version(centre({ 'ivr/main.yaml': [['timeout: 5\n', 'timeout: 6\n']] }))).not.toBe(version(DEMO));
  });
});

describe('errors an admin can act on', () => {
  it('unknown node reference: file, line, column, path and the nodes that exist', () => {
    const dir = centre({ 'ivr/main.yaml': [['"2": support', '"2": suport']] });
    const e = only(errorsOf(dir), /unknown node reference/);
    expect(e).toMatchObject({ file: 'ivr/main.yaml', path: ['nodes', 'menu', 'choices', '2'], ...posOf(dir, 'ivr/main.yaml', 'suport') });
    expect(e.message).toMatch(/"suport"; expected one of .*"support"/);
    expect(formatError(e, 'config/')).toMatch(/^config\/ivr\/main\.yaml:\d+:\d+ nodes\.menu\.choices\.2: unknown node reference "suport"/);
  });

  it('unknown flow in a cross-flow reference', () => {
    const dir = centre({ 'ivr/main.yaml': [['afterCall: "survey:"', 'afterCall: "surevy:"']] });
    expect(only(errorsOf(dir), /unknown flow "surevy"/).path).toEqual(['nodes', 'sales', 'afterCall']);
  });

  it('unreachable node, pointing at its name', () => {
    const dir = centre({ 'ivr/main.yaml': [['  goodbye:\n', '  orphan: { type: hangup }\n  goodbye:\n']] });
    const e = only(errorsOf(dir), /unreachable node "orphan"/);
    expect(e).toMatchObject({ path: ['nodes', 'orphan'], ...posOf(dir, 'ivr/main.yaml', 'orphan:') });
  });

  it('menu with no way out', () => {
    const dir = centre({
      'ivr/main.yaml': [
        ['onFail: operator ', 'onFail: loop '],
        [
          '  goodbye:\n',
          '  loop:\n    type: menu\n    prompt: main-menu\n    choices: { "1": loop, "2": again }\n  again: { type: goto, target: loop }\n  goodbye:\n',
        ],
      ],
    });
    const e = only(errorsOf(dir), /has no way out/);
    expect(e).toMatchObject({ path: ['nodes', 'loop', 'choices'], message: expect.stringMatching(/menu "loop" has no way out/) });
  });

  it('missing prompt file, in prompts.yaml and inline in a flow', () => {
    const dir = centre({
      'prompts.yaml': [['file: prompts/goodbye.wav', 'file: prompts/good-bye.wav']],
      'ivr/main.yaml': [['prompt: welcome\n', 'prompt: { file: prompts/nope.wav }\n']],
    });
    const errors = errorsOf(dir);
    expect(only(errors, /good-bye\.wav/)).toMatchObject({
      file: 'prompts.yaml',
      path: ['prompts', 'goodbye', 'file'],
      ...posOf(dir, 'prompts.yaml', 'prompts/good-bye.wav'),
    });
    expect(only(errors, /nope\.wav/)).toMatchObject({
      file: 'ivr/main.yaml',
      path: ['nodes', 'welcome', 'prompt', 'file'],
      message: expect.stringMatching(/^missing prompt file/),
    });
  });

  it('unknown prompt name', () => {
    const dir = centre({ 'ivr/main.yaml': [['invalidPrompt: invalid', 'invalidPrompt: invalidd']] });
    expect(only(errorsOf(dir), /unknown prompt "invalidd"/).path).toEqual(['nodes', 'menu', 'invalidPrompt']);
  });

  it('unknown queue', () => {
    const dir = centre({ 'ivr/main.yaml': [['queue: sales', 'queue: sails']] });
    const e = only(errorsOf(dir), /unknown queue "sails"/);
    expect(e).toMatchObject({ path: ['nodes', 'sales', 'queue'], ...posOf(dir, 'ivr/main.yaml', 'sails') });
    expect(e.message).toMatch(/queues are "sales", "support", "operator"/);
  });

  it('bad digit pattern: a regex that does not compile, letters, and a menu key that is not one DTMF key', () => {
    const collect = (pattern: string): string =>
      centre({
        'ivr/main.yaml': [
          ['    next: menu\n', '    next: acct\n'],
          [
            '  menu:\n',
            `  acct:\n    type: collect\n    prompt: main-menu\n    into: account\n    pattern: "${pattern}"\n    next: menu\n  menu:\n`,
          ],
        ],
      });
    const e1 = only(errorsOf(collect('[0-9')), /bad digit pattern/);
    expect(e1).toMatchObject({
      path: ['nodes', 'acct', 'pattern'],
      message: expect.stringMatching(/bad digit pattern \/\[0-9\/: .*class/i),
    });
    expect(only(errorsOf(collect('abc')), /bad digit pattern/).message).toMatch(/only key 0-9, \* and #/);
    const dir = centre({ 'ivr/main.yaml': [['"0": operator', '"00": operator']] });
    const e3 = only(errorsOf(dir), /DTMF/);
    expect(e3).toMatchObject({ path: ['nodes', 'menu', 'choices', '00'], ...posOf(dir, 'ivr/main.yaml', '"00"') });
  });

  it('overlapping holiday rules', () => {
    const dir = centre({
      'hours.yaml': [
        [
          '{ name: New Year, from: 2026-12-31, to: 2027-01-01 }',
          '{ name: New Year, from: 2026-12-31, to: 2027-01-01 }\n      - { name: Hogmanay, date: 12-31 }',
        ],
      ],
    });
    const e = only(errorsOf(dir), /overlaps/);
    expect(e).toMatchObject({
      file: 'hours.yaml',
      path: ['calendars', 'business', 'holidays', 4],
      ...posOf(dir, 'hours.yaml', '{ name: Hogmanay'),
    });
    expect(e.message).toBe('holiday "Hogmanay" overlaps holiday "New Year" (rule 4) on every 12-31');
  });

  it('unknown time zone, in a calendar and for the server', () => {
    const dir = centre({
      'hours.yaml': [['Europe/London', 'Europe/Lundon']],
      'centre.yaml': [['timezone: Europe/London', 'timezone: Mars/Olympus']],
    });
    const errors = errorsOf(dir);
    expect(only(errors, /Europe\/Lundon/)).toMatchObject({
      file: 'hours.yaml',
      path: ['calendars', 'business', 'timezone'],
      ...posOf(dir, 'hours.yaml', 'Europe/Lundon'),
    });
    expect(only(errors, /Mars\/Olympus/)).toMatchObject({ file: 'centre.yaml', path: ['server', 'timezone'] });
  });

  it('unknown calendar, unknown skill, unknown flow in a trunk route', () => {
    const dir = centre({
      'ivr/main.yaml': [['calendar: business', 'calendar: busyness']],
      'queues.yaml': [['skills: [{ skill: support, minLevel: 3 }]', 'skills: [{ skill: suport, minLevel: 3 }]']],
      'centre.yaml': [['flow: main', 'flow: mian']],
    });
    const errors = errorsOf(dir);
    expect(only(errors, /unknown calendar "busyness"/).path).toEqual(['nodes', 'hours', 'calendar']);
    expect(only(errors, /unknown skill "suport"/)).toMatchObject({
      file: 'queues.yaml',
      path: ['queues', 'support', 'skills', 0, 'skill'],
    });
    expect(only(errors, /unknown IVR flow "mian"/)).toMatchObject({ file: 'centre.yaml', path: ['trunks', 'local', 'routes', 1, 'flow'] });
  });

  it('bad trunk address, bad transfer number, unknown skill in a queue override, port clash', () => {
    const dir = centre({
      'centre.yaml': [
        ['from: [127.0.0.1]', 'from: [127.0.0.1, 10.0.0/8]'],
        ['port: 8080', 'port: 5060'],
      ],
      'ivr/main.yaml': [
        ['    onFail: operator ', '    onFail: ext '],
        ['  goodbye:\n', '  ext: { type: transfer, number: "+44 20 {{x}}" }\n  goodbye:\n'],
        ['    priority: 5\n', '    priority: 5\n    skills: [{ skill: billing }]\n'],
      ],
    });
    const errors = errorsOf(dir);
    expect(only(errors, /bad address "10\.0\.0\/8"/)).toMatchObject({ file: 'centre.yaml', path: ['trunks', 'local', 'from', 1] });
    expect(only(errors, /bad transfer number/)).toMatchObject({ path: ['nodes', 'ext', 'number'] });
    expect(only(errors, /unknown skill "billing"/)).toMatchObject({ path: ['nodes', 'support', 'skills', 0, 'skill'] });
    expect(only(errors, /HTTP port 5060 is also a SIP/)).toMatchObject({ path: ['server', 'http', 'port'] });
  });

  it('unknown {{variable}} in a prompt transcript, an inline text or a number', () => {
    const dir = centre({
      'prompts.yaml': [['text: Goodbye.', 'text: Goodbye {{custmer}}.']],
      'ivr/main.yaml': [['prompt: welcome\n', 'prompt: { text: "Hello {{callerId}}, {{name}}" }\n']],
    });
    const errors = errorsOf(dir);
    expect(only(errors, /"\{\{custmer\}\}"/)).toMatchObject({
      path: ['nodes', 'goodbye', 'prompt'],
      message: expect.stringMatching(/in prompt "goodbye"/),
    });
    expect(only(errors, /"\{\{name\}\}"/)).toMatchObject({ path: ['nodes', 'welcome', 'prompt', 'text'] });
  });

  it('schema errors: a typo in a key, a wrong type, an unknown node type', () => {
    const dir = centre({
      'ivr/main.yaml': [
        ['    retries: 2\n', '    retires: 2\n'],
        ['    timeout: 5\n', '    timeout: five\n'],
        ['type: callback', 'type: call-back'],
      ],
    });
    const errors = errorsOf(dir);
    expect(only(errors, /unknown setting "retires"/)).toMatchObject({
      path: ['nodes', 'menu', 'retires'],
      ...posOf(dir, 'ivr/main.yaml', 'retires'),
    });
    expect(only(errors, /expected number/)).toMatchObject({ path: ['nodes', 'menu', 'timeout'], ...posOf(dir, 'ivr/main.yaml', 'five') });
    expect(only(errors, /unknown type/)).toMatchObject({
      path: ['nodes', 'offer-callback', 'type'],
      message: expect.stringMatching(/"menu".*"hangup"/),
    });
  });

  it('RTP threads: a count of at least one, positioned when wrong', () => {
    const dir = centre({ 'centre.yaml': [['    rtpMaxPort: 29999\n', '    rtpMaxPort: 29999\n    rtpThreads: 0\n']] });
    const errors = errorsOf(dir);
    expect(only(errors, />=\s*1|too small/i)).toMatchObject({
      file: 'centre.yaml',
      path: ['server', 'media', 'rtpThreads'],
      line: posOf(dir, 'centre.yaml', 'rtpThreads').line,
    });
  });

  it('recordings: a relative dir is under dataDir, an absolute one as is; retentionDays is checked and positioned', () => {
    const load = (dir: string, env: Record<string, string> = {}) => {
      const r = loadConfig(dir, env, '/srv/cc');
      if (!r.ok) throw new Error(r.errors.map((e) => formatError(e)).join('\n'));
      return r.config.server.recordings;
    };
    const keep = '    retentionDays: 0 ';
    expect(load(centre({ 'centre.yaml': [[keep, '    dir: rec\n    retentionDays: 90 ']] }))).toEqual({
      dir: '/srv/cc/data/rec',
      retentionDays: 90,
    });
    expect(load(centre({ 'centre.yaml': [[keep, '    dir: /mnt/audio\n    retentionDays: 0 ']] }), { CC_DATA_DIR: '/var/cc' })).toEqual({
      dir: '/mnt/audio',
      retentionDays: 0,
    });
    expect(load(DEMO, { CC_DATA_DIR: '/var/cc2', CC_RECORDINGS_DIR: 'audio' }).dir).toBe('/var/cc2/audio');
    for (const bad of ['-1', '1.5', '"30"', '40000']) {
      const dir = centre({ 'centre.yaml': [[keep, `    retentionDays: ${bad} `]] });
      const e = only(errorsOf(dir), /./);
      const at = posOf(dir, 'centre.yaml', `retentionDays: ${bad}`);
      expect(e, bad).toMatchObject({
        file: 'centre.yaml',
        path: ['server', 'recordings', 'retentionDays'],
        line: at.line,
        column: at.column + 'retentionDays: '.length,
      });
    }
  });

  it('a typo in a nested queue setting is an error, not a default silently used', () => {
    const dir = centre({
      'queues.yaml': [
        ['serviceLevel: { threshold: 20, target: 0.8 }', 'serviceLevel: { treshold: 30, target: 0.8 }'],
        ['{ after: 60, addSkills: [{ skill: operator }] }', '{ after: 60, addSkills: [{ skill: operator, minLvl: 2 }] }'],
      ],
    });
    const errors = errorsOf(dir);
    expect(only(errors, /unknown setting "treshold"/)).toMatchObject({
      file: 'queues.yaml',
      path: ['queues', 'sales', 'serviceLevel', 'treshold'],
      ...posOf(dir, 'queues.yaml', 'treshold'),
    });
    expect(only(errors, /unknown setting "minLvl"/)).toMatchObject({
      path: ['queues', 'sales', 'escalation', 0, 'addSkills', 0, 'minLvl'],
    });
  });

  it('a trunk with a digest username but no password is an error', () => {
    const dir = centre({ 'centre.yaml': [['    from: [127.0.0.1]\n', '    from: [127.0.0.1]\n    username: carrier\n']] });
    expect(only(errorsOf(dir), /needs both username and password/)).toMatchObject({
      file: 'centre.yaml',
      path: ['trunks', 'local', 'password'],
    });
  });

  it('YAML syntax errors with their position, and duplicate keys', () => {
    const y = only(errorsOf(centre({ 'queues.yaml': 'queues:\n  sales: [\n' })), /^YAML: /);
    expect(y).toMatchObject({ file: 'queues.yaml', line: 3, column: 1 });
    const agents = centre({ 'agents.yaml': [['  - id: "1002"', '  - id: "1001"']] });
    expect(only(errorsOf(agents), /duplicate agent id "1001"/)).toMatchObject({
      file: 'agents.yaml',
      path: ['agents', 1, 'id'],
      ...posOf(agents, 'agents.yaml', '"1001"\n    name: Bob'),
    });

    const dup = centre({ 'ivr/main.yaml': [['  goodbye:\n', '  closed:\n    type: hangup\n  goodbye:\n']] });
    expect(errorsOf(dup).some((e) => e.file === 'ivr/main.yaml' && /unique|duplicate/i.test(e.message))).toBe(true);
  });

  it('a schema error in one file does not hide the cross-file errors of the others', () => {
    const dir = centre({ 'agents.yaml': [['password: alice1001', 'password: ab']], 'ivr/main.yaml': [['queue: sales', 'queue: sails']] });
    const errors = errorsOf(dir);
    expect(only(errors, /at least 4|>=4|too small/i)).toMatchObject({ file: 'agents.yaml', path: ['agents', 0, 'password'] });
    expect(errors.some((e) => /unknown queue "sails"/.test(e.message))).toBe(false); // flows need agents.yaml's skills
    const dir2 = centre({ 'queues.yaml': [['maxWait: 600', 'maxWait: soon']], 'hours.yaml': [['Europe/London', 'Europe/Lundon']] });
    const errors2 = errorsOf(dir2);
    expect(only(errors2, /expected number/)).toMatchObject({ file: 'queues.yaml' });
    expect(only(errors2, /unknown time zone "Europe\/Lundon"/)).toMatchObject({ file: 'hours.yaml' });
  });

  it('a file of the wrong shape, or an alias bomb, is an error', () => {
    expect(only(errorsOf(centre({ 'agents.yaml': '- just\n- a list\n' })), /expected object/)).toMatchObject({
      file: 'agents.yaml',
      line: 1,
      column: 1,
    });
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefghij'[i]}`).join(', ')}]`),
    ].join('\n');
    expect(only(errorsOf(centre({ 'hours.yaml': `${bomb}\ncalendars: {}\n` })), /YAML: /)).toMatchObject({ file: 'hours.yaml' });
  });

  it('missing files and directories are errors, not crashes', () => {
    const dir = centre();
    rmSync(path.join(dir, 'queues.yaml'));
    expect(only(errorsOf(dir), /cannot read/)).toMatchObject({ file: 'queues.yaml', line: 0 });
    expect(errorsOf(path.join(tmpRoot, 'nowhere'))[0]?.message).toBe('config directory not found');
    const empty = centre({ 'centre.yaml': '' });
    expect(errorsOf(empty).some((e) => e.file === 'centre.yaml')).toBe(true);
  });
});
