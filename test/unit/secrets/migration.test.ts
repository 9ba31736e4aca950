/**
 * `callcentre passwd`'s rewrite of agents.yaml: the agent's clear password becomes passwordHash +
 * sipHa1 in place; every other byte of the file (comments and their alignment, quoting, flow maps,
 * the other agents) stays as written; the result loads and checks.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AgentsFileSchema } from '../../../server/config/schema.ts';
import { checkAgentPassword, ha1, hashPassword, sipSecretOf, type SipHa1 } from '../../../server/secrets/passwords.ts';
import { clearPasswords, parseAgentsYaml, setAgentSecrets } from '../../../server/secrets/commands.ts';

const demo = readFileSync(resolve('config/agents.yaml'), 'utf8');
const FAST = { N: 1024, r: 8, p: 1 };
const secrets = (id: string, realm: string, pw: string): { passwordHash: string; sipHa1: SipHa1 } => ({
  passwordHash: hashPassword(pw, FAST),
  sipHa1: { realm, md5: ha1('MD5', id, realm, pw), sha256: ha1('SHA-256', id, realm, pw) },
});

/** Lines of b not in a, and of a not in b (a line diff good enough for these edits). */
function changedLines(a: string, b: string): { removed: string[]; added: string[] } {
  const la = a.split('\n');
  const lb = b.split('\n');
  return { removed: la.filter((l) => !lb.includes(l)), added: lb.filter((l) => !la.includes(l)) };
}

describe('agents.yaml migration', () => {
  it("replaces one agent's password line by passwordHash + sipHa1 and changes nothing else", async () => {
    const out = setAgentSecrets(demo, '1004', secrets('1004', 'callcentre.local', 'dave-new-pw'));
    const d = changedLines(demo, out);
    expect(d.removed).toEqual(['    password: dave1004']);
    expect(d.added).toHaveLength(5);
    expect(d.added[0]).toMatch(/^ {4}passwordHash: scrypt\$1024\$8\$1\$/);
    expect(d.added.slice(1, 3)).toEqual(['    sipHa1:', '      realm: "callcentre.local"']);
    // Everything else byte for byte: the schema line, comments with their alignment, quoting.
    expect(out.replace(/ {4}passwordHash:.*\n {4}sipHa1:\n(?: {6}.*\n){3}/, '    password: dave1004\n')).toBe(demo);
    expect(out).toContain('    role: supervisor      # reads reports and recordings; no skills, so no calls');

    const file = AgentsFileSchema.parse(parse(out));
    const dave = file.agents.find((a) => a.id === '1004')!;
    expect(dave.password).toBeUndefined();
    expect(await checkAgentPassword(dave, 'dave-new-pw')).toBe(true);
    expect(sipSecretOf(dave, 'callcentre.local')).toEqual({
      ha1: {
        MD5: ha1('MD5', '1004', 'callcentre.local', 'dave-new-pw'),
        'SHA-256': ha1('SHA-256', '1004', 'callcentre.local', 'dave-new-pw'),
      },
    });
    // The others keep their clear passwords.
    expect(file.agents.filter((a) => a.password !== undefined).map((a) => a.id)).toEqual(['1001', '1002', '1003', '9001', '9002']);
  });

  it('migrates every clear password; each agent keeps its own password; comments stay', async () => {
    let text = demo;
    for (const { id, password } of clearPasswords(parseAgentsYaml(text))) text = setAgentSecrets(text, id, secrets(id, 'cc', password));
    expect(clearPasswords(parseAgentsYaml(text))).toEqual([]);
    const file = AgentsFileSchema.parse(parse(text));
    for (const [id, pw] of [
      ['1001', 'alice1001'],
      ['1002', 'bob1002'],
      ['9001', 'sam9001'],
    ] as const) {
      expect(
        await checkAgentPassword(
          file.agents.find((a) => a.id === id),
          pw,
        ),
      ).toBe(true);
    }
    expect(text.startsWith('# yaml-language-server: $schema=./schema/agents.json\n')).toBe(true);
    expect(text).toContain('role: supervisor      # reads reports');
    expect(text).toContain('skills: { operator: 10, sales: 3, support: 3 }');
  });

  it('a comment on the password line stays on the hash line', () => {
    const src = 'agents:\n  - id: a1\n    name: A\n    password: abcd1234   # temporary\n    skills: {}\n';
    const out = setAgentSecrets(src, 'a1', secrets('a1', 'r', 'abcd1234'));
    expect(out).toMatch(/^ {4}passwordHash: scrypt\S+ {3}# temporary\n {4}sipHa1:\n/m);
    expect(out.endsWith('    skills: {}\n')).toBe(true);
  });

  it('a second passwd replaces the hash and the HA1 values where they stand', async () => {
    const once = setAgentSecrets(demo, '1001', secrets('1001', 'callcentre.local', 'first-pw-1'));
    const twice = setAgentSecrets(once, '1001', secrets('1001', 'callcentre.local', 'second-pw-2'));
    expect(twice.split('\n')).toHaveLength(once.split('\n').length);
    const alice = AgentsFileSchema.parse(parse(twice)).agents.find((a) => a.id === '1001')!;
    expect(await checkAgentPassword(alice, 'second-pw-2')).toBe(true);
    expect(await checkAgentPassword(alice, 'first-pw-1')).toBe(false);
    expect(alice.sipHa1?.md5).toBe(ha1('MD5', '1001', 'callcentre.local', 'second-pw-2'));
  });

  it('flow-style agents get flow-style secrets', () => {
    const src = 'agents:\n  - { id: "7", name: Seven, password: seven777 } # flow\n  - { id: "8", name: Eight, password: eight888 }\n';
    const out = setAgentSecrets(src, '7', secrets('7', 'r', 'seven777'));
    expect(out).toMatch(
      /^ {2}- \{ id: "7", name: Seven, passwordHash: scrypt\S+, sipHa1: \{ realm: "r", md5: "[0-9a-f]{32}", sha256: "[0-9a-f]{64}" \} \} # flow$/m,
    );
    expect(out).toContain('  - { id: "8", name: Eight, password: eight888 }\n');
    expect(AgentsFileSchema.safeParse({ skills: {}, ...(parse(out) as object) }).success).toBe(true);
  });

  it('an unknown agent is an error', () => {
    expect(() => setAgentSecrets(demo, '4242', secrets('4242', 'r', 'x'))).toThrow(/no agent "4242"/);
  });
});
