/**
 * `callcentre passwd AGENT` and `callcentre passwd --migrate-all`: replace clear `password:`
 * entries in agents.yaml by `passwordHash:` (scrypt, web login and HTTP Basic) and `sipHa1:` (SIP
 * digest, for the centre's `server.sipRealm`). The file is rewritten through the yaml package's
 * Document API, so comments, quoting, order and the other agents stay as they were; a running
 * centre picks the edit up like any other config change.
 */
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Pair, type YAMLMap } from 'yaml';
import { loadForCommand, withConfigOption } from '../config/commands.ts';
import { secretsFor, type SipHa1 } from './passwords.ts';

/** New passwords typed at `passwd` (migrated ones keep whatever they were). */
export const MIN_PASSWORD_LENGTH = 8;

function agentsSeq(doc: Document): YAMLMap[] {
  const agents = doc.get('agents', true);
  if (!isSeq(agents)) throw new Error('agents.yaml has no agents list');
  return agents.items.filter((a): a is YAMLMap => isMap(a));
}

const keyOf = (p: Pair): unknown => (isScalar(p.key) ? p.key.value : p.key);

/** Hex and realms are quoted: an all-digit MD5 would otherwise read back as a number. */
const q = (s: string): string => JSON.stringify(s);

function sipHa1Text(h: SipHa1, flow: boolean, indent: string): string {
  const f = [`realm: ${q(h.realm)}`, ...(h.md5 ? [`md5: ${q(h.md5)}`] : []), ...(h.sha256 ? [`sha256: ${q(h.sha256)}`] : [])];
  return flow ? `{ ${f.join(', ')} }` : f.map((l) => `\n${indent}  ${l}`).join('');
}

/**
 * Agent `id`'s entry with new secrets, as a text edit of agents.yaml so that everything else
 * (comments, their alignment, quoting, order, other agents) stays byte for byte: `password: x`
 * becomes `passwordHash: …` and `sipHa1: …` in its place (a trailing comment stays on the hash
 * line); an existing hash and HA1 have their values replaced where they stand.
 */
export function setAgentSecrets(text: string, id: string, secrets: { passwordHash: string; sipHa1: SipHa1 }): string {
  const doc = parseAgentsYaml(text);
  const agent = agentsSeq(doc).find((a) => String(a.get('id')) === id);
  if (!agent) throw new Error(`no agent "${id}" in agents.yaml`);
  const pair = (k: string): Pair | undefined => agent.items.find((p) => keyOf(p) === k);
  const range = (n: unknown): [number, number] | undefined => {
    const r = (n as { range?: [number, number, number] } | null)?.range;
    return r ? [r[0], r[1]] : undefined;
  };
  const edits: { at: [number, number]; text: string }[] = [];
  const flow = agent.flow === true;
  const oldHa1 = pair('sipHa1');
  const ha1Map = oldHa1 && isMap(oldHa1.value) ? oldHa1.value : undefined;
  // An existing sipHa1 with all three keys: its values are replaced in place.
  const ha1InPlace =
    ha1Map && (['realm', 'md5', 'sha256'] as const).every((k) => isScalar(ha1Map.get(k, true)) && range(ha1Map.get(k, true)));
  if (oldHa1 && !ha1InPlace) {
    // Rare (hand-written partial entry): fall back to the Document API for this entry.
    return fallback(doc, agent, secrets);
  }
  if (ha1Map && ha1InPlace) {
    for (const k of ['realm', 'md5', 'sha256'] as const) {
      edits.push({ at: range(ha1Map.get(k, true))!, text: q(k === 'realm' ? secrets.sipHa1.realm : (secrets.sipHa1[k] ?? '')) });
    }
  }
  const pw = pair('password') ?? pair('passwordHash');
  const keyAt = range(pw?.key);
  const valueAt = range(pw?.value);
  if (!pw || !keyAt || !valueAt) return fallback(doc, agent, secrets);
  const lineStart = text.lastIndexOf('\n', keyAt[0] - 1) + 1;
  const indent = ' '.repeat(keyAt[0] - lineStart);
  const ha1 = ha1InPlace
    ? ''
    : flow
      ? `, sipHa1: ${sipHa1Text(secrets.sipHa1, true, '')}`
      : `\n${indent}sipHa1:${sipHa1Text(secrets.sipHa1, false, indent)}`;
  if (keyOf(pw) === 'passwordHash') {
    edits.push({ at: valueAt, text: secrets.passwordHash });
    if (ha1) edits.push({ at: [valueAt[1], valueAt[1]], text: ha1 });
  } else {
    // The comment after `password: x` (if any) ends up after the last line written here; keep it
    // on the hash line instead by putting the HA1 lines after the comment.
    const eol = text.indexOf('\n', valueAt[1]);
    const comment = flow ? '' : text.slice(valueAt[1], eol < 0 ? text.length : eol);
    const end = flow ? valueAt[1] : eol < 0 ? text.length : eol;
    edits.push({ at: [keyAt[0], end], text: `passwordHash: ${secrets.passwordHash}${comment}${ha1}` });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.at[0] - a.at[0])) out = out.slice(0, e.at[0]) + e.text + out.slice(e.at[1]);
  return out;
}

function fallback(doc: Document, agent: YAMLMap, secrets: { passwordHash: string; sipHa1: SipHa1 }): string {
  agent.delete('password');
  agent.set('passwordHash', secrets.passwordHash);
  const m = doc.createNode({ ...secrets.sipHa1 });
  m.flow = agent.flow === true;
  agent.set('sipHa1', m);
  return stringifyAgentsYaml(doc);
}

/** The agents still holding a clear password, with it. */
export function clearPasswords(doc: Document): { id: string; password: string }[] {
  const out: { id: string; password: string }[] = [];
  for (const a of agentsSeq(doc)) {
    const pw: unknown = a.get('password');
    if (typeof pw === 'string') out.push({ id: String(a.get('id')), password: String(pw) });
  }
  return out;
}

export function parseAgentsYaml(text: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) throw new Error(`agents.yaml: ${doc.errors[0]!.message}`);
  return doc;
}

/** No folding of long lines: the rest of the file must come back as it was written. */
export const stringifyAgentsYaml = (doc: Document): string => doc.toString({ lineWidth: 0, minContentWidth: 0 });

/** Replace the file in one rename (a watching centre never reads half a file), keeping its mode. */
function writeAtomically(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, statSync(file).mode & 0o777);
  renameSync(tmp, file);
}

/** The new password: typed twice without echo on a terminal, else the first line of stdin. */
async function readNewPassword(id: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '').trimEnd();
  }
  const first = await promptHidden(`New password for agent ${id}: `);
  const again = await promptHidden('Again: ');
  if (first !== again) throw new Error('the passwords differ');
  return first;
}

function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let s = '';
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(s);
    };
    const onData = (b: Buffer): void => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('interrupted'));
        if (ch === '\u007f' || ch === '\b') s = s.slice(0, -1);
        else s += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export function registerPasswdCommand(program: Command): void {
  withConfigOption(
    program
      .command('passwd')
      .description(
        "set an agent's password in agents.yaml as passwordHash (scrypt) and sipHa1 (SIP digest for server.sipRealm); " +
          'reads it from the terminal, or the first line of stdin when piped',
      )
      .argument('[agent]', 'agent id')
      .option('--migrate-all', 'hash every clear password: in agents.yaml (each agent keeps its password)'),
  ).action(async (agent: string | undefined, o: { config: string; migrateAll?: boolean }) => {
    if (!agent && !o.migrateAll) throw new Error('give an agent id, or --migrate-all');
    // The realm the centre would use: centre.yaml with the same environment overrides as the server.
    const config = loadForCommand(o.config);
    if (!config) {
      process.exitCode = 1;
      return;
    }
    const realm = config.server.sipRealm;
    const file = path.join(o.config, 'agents.yaml');
    let text = readFileSync(file, 'utf8');
    const changed: string[] = [];
    if (o.migrateAll) {
      for (const { id, password } of clearPasswords(parseAgentsYaml(text))) {
        if (agent && id !== agent) continue;
        text = setAgentSecrets(text, id, secretsFor(id, realm, password));
        changed.push(id);
      }
    } else if (agent) {
      if (!config.agents.some((a) => a.id === agent)) throw new Error(`no agent "${agent}" in ${file}`);
      const password = await readNewPassword(agent);
      if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
      text = setAgentSecrets(text, agent, secretsFor(agent, realm, password));
      changed.push(agent);
    }
    if (changed.length === 0) {
      console.log(`${file}: no clear passwords left`);
      return;
    }
    writeAtomically(file, text);
    console.log(`${file}: hashed password and SIP HA1 (realm ${realm}) for ${changed.join(', ')}`);
  });
}
