/**
 * Loads a config directory as one whole: every file parsed, checked against its schema, then
 * checked across files (references, reachability, calendars, prompt files). Either all of it is
 * valid and a frozen CentreConfig comes back, or the caller gets every error with file, line,
 * column and document path — never a half-loaded centre.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import type { Agent, AuxCodeSchema, Queue } from '../acd/config.ts';
import { applyEnv } from './env.ts';
import { parseCidr } from '../../lib/ratelimit.ts';
import type { ConfigError } from './errors.ts';
import {
  AgentsFileSchema,
  CentreFileSchema,
  FlowSchema,
  HoursFileSchema,
  PromptsFileSchema,
  QueuesFileSchema,
  type Prompt,
  type ServerSettings,
  type OutboundConfig,
  type Trunk,
} from './schema.ts';
import { checkOutbound } from './trunks.ts';
import { checkCalendar, isValidTimeZone, type Calendar } from '../ivr/calendar.ts';
import { checkFlows } from '../ivr/check.ts';
import type { Flow } from '../ivr/schema.ts';
import type { KpiConfig } from '../kpi/settings.ts';
import { checkFloor, DEFAULT_FLOOR, type FloorConfig } from '../alerts/rules.ts';
import { DEFAULT_PLANNING, type PlanningConfig } from '../planning/config.ts';
import type { TargetsConfig } from '../planning/targets.ts';
import { checkQaConfig, QaFileSchema, resolveQaConfig, type QaConfig } from '../qa/config.ts';

type AuxCode = z.infer<typeof AuxCodeSchema>;

/** Server settings with every directory made absolute and defaults filled in. */
export interface ResolvedServer extends ServerSettings {
  dataDir: string;
  database: ServerSettings['database'] & { dataDir: string };
  recordings: { dir: string; retentionDays: number };
  /** Directory for synthesized prompts (TTS cache). */
  ttsCacheDir: string;
}

export interface CentreConfig {
  /** Absolute config directory. */
  readonly dir: string;
  /** Content hash of every file: equal versions are equal configs. */
  readonly version: string;
  readonly name: string;
  readonly server: ResolvedServer;
  /** centre.yaml `kpi:`: the report definitions (see kpiSettingsOf for everything reports use). */
  readonly kpi: KpiConfig;
  readonly trunks: Readonly<Record<string, Trunk>>;
  /** centre.yaml `outbound:` (trunks the centre dials out on); undefined when absent. */
  readonly outbound: OutboundConfig | undefined;
  readonly skills: Readonly<Record<string, { description?: string | undefined }>>;
  readonly auxCodes: readonly AuxCode[];
  readonly agents: readonly Agent[];
  readonly queues: Readonly<Record<string, Queue>>;
  readonly calendars: Readonly<Record<string, Calendar>>;
  /** Prompt files here are absolute paths. */
  readonly prompts: Readonly<Record<string, Prompt>>;
  readonly musicOnHold: string | undefined;
  readonly flows: Readonly<Record<string, Flow>>;
  /** centre.yaml `planning:` with defaults filled in. */
  readonly planning: PlanningConfig;
  /** centre.yaml `targets:` (queue targets, centre targets, multi-skill share); undefined when absent. */
  readonly targets: TargetsConfig | undefined;
  /** qa.yaml: scoring forms, audio analytics, flag rules, review sample (server/qa/config.ts). */
  readonly qa: QaConfig;
  /** centre.yaml `floor:` (alert rules, surge plans) with defaults filled in. */
  readonly floor: FloorConfig;
}

export type LoadResult = { ok: true; config: CentreConfig } | { ok: false; errors: ConfigError[] };

interface Parsed {
  file: string;
  doc: Document.Parsed;
  lc: LineCounter;
}

const REQUIRED = ['centre.yaml', 'agents.yaml', 'queues.yaml'];
const OPTIONAL_EMPTY: Record<string, unknown> = {
  'hours.yaml': { calendars: {} },
  'prompts.yaml': { prompts: {} },
  'qa.yaml': { forms: {}, defaultForm: 'none' },
};

/** Finds the YAML node for a document path; falls back to the deepest node that exists. */
function locate(p: Parsed, docPath: readonly (string | number)[], atKey = false): { line: number; column: number } {
  let node: unknown = p.doc.contents;
  let offset = p.doc.contents?.range?.[0] ?? 0;
  for (const seg of docPath) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) break;
      const keyNode = pair.key as { range?: [number, number, number] };
      const valNode = pair.value as { range?: [number, number, number] } | null;
      const last = seg === docPath[docPath.length - 1];
      offset = (atKey && last ? keyNode.range?.[0] : (valNode?.range?.[0] ?? keyNode.range?.[0])) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as { range?: [number, number, number] } | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  const pos = p.lc.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function err(p: Parsed, docPath: (string | number)[], message: string, atKey = false): ConfigError {
  return { file: p.file, ...locate(p, docPath, atKey), path: docPath, message };
}

function zodErrors(p: Parsed, error: z.ZodError, prefix: (string | number)[] = []): ConfigError[] {
  const out: ConfigError[] = [];
  for (const issue of error.issues) {
    const ip = [...prefix, ...issue.path.map((s) => (typeof s === 'symbol' ? String(s) : s))];
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push(err(p, [...ip, k], `unknown setting "${k}"`, true));
    } else if (issue.code === 'invalid_key') {
      // A record key failed (e.g. a menu digit "12"): point at the key itself.
      const inner = issue.issues[0]?.message ?? issue.message;
      out.push(err(p, ip, `bad key "${String(ip[ip.length - 1])}": ${inner}`, true));
    } else if (issue.code === 'invalid_union' && 'discriminator' in issue) {
      // zod 4 adds discriminator/options to this issue at run time but not to its type.
      const options = (issue as { options?: unknown[] }).options ?? [];
      out.push(err(p, ip, `unknown type; expected one of ${options.map((o) => `"${String(o)}"`).join(', ')}`));
    } else {
      out.push(err(p, ip, issue.message));
    }
  }
  return out;
}

function readYaml(dir: string, file: string, errors: ConfigError[]): Parsed | undefined {
  const abs = path.join(dir, file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    errors.push({
      file,
      line: 0,
      column: 0,
      path: [],
      message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    });
    return undefined;
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    for (const e of doc.errors) {
      const pos = lc.linePos(e.pos[0]);
      errors.push({ file, line: pos.line, column: pos.col, path: [], message: `YAML: ${e.message.split('\n')[0]}` });
    }
    return undefined;
  }
  return { file, doc, lc };
}

function toJs(p: Parsed, errors: ConfigError[]): unknown {
  try {
    // An empty file is an empty mapping, so the schema names what is missing.
    return (p.doc.toJS({ maxAliasCount: 1000 }) as unknown) ?? {};
  } catch (e) {
    // e.g. an alias bomb: refuse the file rather than expand it.
    errors.push({ file: p.file, line: 1, column: 1, path: [], message: `YAML: ${(e as Error).message}` });
    return undefined;
  }
}

function hashFiles(dir: string, files: string[]): string {
  const h = createHash('sha256');
  for (const f of files.sort()) {
    h.update(f);
    h.update('\0');
    try {
      h.update(readFileSync(path.join(dir, f)));
    } catch {
      h.update('missing');
    }
    h.update('\0');
  }
  return h.digest('hex').slice(0, 12);
}

/**
 * Load and check a config directory. `env` supplies the CC_* overrides (pass process.env);
 * relative server paths resolve against `cwd`.
 */
export function loadConfig(dir: string, env: Record<string, string | undefined> = {}, cwd = process.cwd()): LoadResult {
  const absDir = path.resolve(cwd, dir);
  const errors: ConfigError[] = [];
  if (!existsSync(absDir) || !statSync(absDir).isDirectory()) {
    return { ok: false, errors: [{ file: dir, line: 0, column: 0, path: [], message: 'config directory not found' }] };
  }

  const parsed = new Map<string, Parsed>();
  const values = new Map<string, unknown>();
  /** Read and parse one file; a file with errors is left out (its errors are recorded). */
  const readInto = (f: string): void => {
    const p = readYaml(absDir, f, errors);
    const v = p ? toJs(p, errors) : undefined;
    if (p && v !== undefined) {
      parsed.set(f, p);
      values.set(f, v);
    }
  };
  for (const f of [...REQUIRED, ...Object.keys(OPTIONAL_EMPTY)]) {
    if (!REQUIRED.includes(f) && !existsSync(path.join(absDir, f))) {
      values.set(f, OPTIONAL_EMPTY[f]);
      continue;
    }
    readInto(f);
  }
  let flowFiles: string[] = [];
  try {
    flowFiles = readdirSync(path.join(absDir, 'ivr'))
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .map((f) => `ivr/${f}`);
  } catch {
    errors.push({ file: 'ivr/', line: 0, column: 0, path: [], message: 'missing directory of IVR flows (ivr/NAME.yaml)' });
  }
  for (const f of flowFiles) {
    readInto(f);
  }

  // Schema pass: each file against its own schema.
  const centreRaw = values.get('centre.yaml');
  if (centreRaw && typeof centreRaw === 'object' && !Array.isArray(centreRaw)) {
    errors.push(...applyEnv(centreRaw as Record<string, unknown>, env));
  }
  const check = <S extends z.ZodType>(file: string, schema: S): z.infer<S> | undefined => {
    if (!values.has(file)) return undefined;
    const r = schema.safeParse(values.get(file));
    if (r.success) return r.data;
    const p = parsed.get(file);
    if (p) errors.push(...zodErrors(p, r.error));
    else errors.push(...r.error.issues.map((i) => ({ file, line: 0, column: 0, path: i.path.map(String), message: i.message })));
    return undefined;
  };
  const centre = check('centre.yaml', CentreFileSchema);
  const agentsFile = check('agents.yaml', AgentsFileSchema);
  const queuesFile = check('queues.yaml', QueuesFileSchema);
  const hoursFile = check('hours.yaml', HoursFileSchema);
  const promptsFile = check('prompts.yaml', PromptsFileSchema);
  const qaFile = check('qa.yaml', QaFileSchema);
  const flows: Record<string, Flow> = {};
  for (const f of flowFiles) {
    const name = path.basename(f).replace(/\.ya?ml$/, '');
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      errors.push({
        file: f,
        line: 0,
        column: 0,
        path: [],
        message: 'flow file names: letters, digits, _ . - (the name is the flow name)',
      });
      continue;
    }
    const flow = check(f, FlowSchema);
    if (flow) flows[name] = flow;
  }
  // Cross-file pass: each check runs when the files it needs passed their schema, so one broken
  // file does not hide the errors of the others.
  const P = (f: string): Parsed => parsed.get(f)!;
  const fileExists = (rel: string): boolean => {
    const abs = path.resolve(absDir, rel);
    return existsSync(abs) && statSync(abs).isFile();
  };
  const flowNames = flowFiles.map((f) => path.basename(f).replace(/\.ya?ml$/, ''));
  const allFlows = flowNames.every((n) => Object.hasOwn(flows, n));
  const skills = agentsFile?.skills;
  const promptNames = promptsFile ? new Set(Object.keys(promptsFile.prompts)) : undefined;
  if (agentsFile && skills) {
    const seenAgents = new Set<string>();
    agentsFile.agents.forEach((a, i) => {
      if (seenAgents.has(a.id)) errors.push(err(P('agents.yaml'), ['agents', i, 'id'], `duplicate agent id "${a.id}"`));
      seenAgents.add(a.id);
      for (const s of Object.keys(a.skills)) {
        if (!Object.hasOwn(skills, s))
          errors.push(
            err(P('agents.yaml'), ['agents', i, 'skills', s], `unknown skill "${s}"; skills are ${Object.keys(skills).join(', ')}`, true),
          );
      }
    });
  }
  if (queuesFile && skills && promptNames) {
    for (const [qn, q] of Object.entries(queuesFile.queues)) {
      q.skills.forEach((s, i) => {
        if (!Object.hasOwn(skills, s.skill))
          errors.push(
            err(
              P('queues.yaml'),
              ['queues', qn, 'skills', i, 'skill'],
              `unknown skill "${s.skill}"; skills in agents.yaml are ${Object.keys(skills).join(', ')}`,
            ),
          );
      });
      q.escalation.forEach((st, i) => {
        if (st.overflowTo !== undefined && !Object.hasOwn(queuesFile.queues, st.overflowTo)) {
          errors.push(err(P('queues.yaml'), ['queues', qn, 'escalation', i, 'overflowTo'], `unknown queue "${st.overflowTo}"`));
        }
        st.addSkills?.forEach((s, j) => {
          if (!Object.hasOwn(skills, s.skill))
            errors.push(err(P('queues.yaml'), ['queues', qn, 'escalation', i, 'addSkills', j, 'skill'], `unknown skill "${s.skill}"`));
        });
      });
      if (q.moh !== undefined && !promptNames.has(q.moh))
        errors.push(err(P('queues.yaml'), ['queues', qn, 'moh'], `unknown prompt "${q.moh}"; define it in prompts.yaml`));
    }
  }
  if (hoursFile) {
    for (const [cn, cal] of Object.entries(hoursFile.calendars)) {
      for (const pr of checkCalendar(cal)) errors.push(err(P('hours.yaml'), ['calendars', cn, ...pr.path], pr.message));
    }
  }
  if (promptsFile && promptNames) {
    for (const [pn, pr] of Object.entries(promptsFile.prompts)) {
      if (pr.file !== undefined && !fileExists(pr.file))
        errors.push(
          err(P('prompts.yaml'), ['prompts', pn, 'file'], `missing prompt file "${pr.file}" (paths are relative to the config directory)`),
        );
      for (const [lang, v] of Object.entries(pr.languages ?? {})) {
        if (v.file !== undefined && !fileExists(v.file))
          errors.push(err(P('prompts.yaml'), ['prompts', pn, 'languages', lang, 'file'], `missing prompt file "${v.file}"`));
      }
    }
    if (promptsFile.musicOnHold !== undefined && !promptNames.has(promptsFile.musicOnHold)) {
      errors.push(err(P('prompts.yaml'), ['musicOnHold'], `unknown prompt "${promptsFile.musicOnHold}"`));
    }
  }
  if (centre) {
    for (const [tn, t] of Object.entries(centre.trunks)) {
      t.from.forEach((rule, i) => {
        if (!parseCidr(rule))
          errors.push(
            err(
              P('centre.yaml'),
              ['trunks', tn, 'from', i],
              `bad address "${rule}": expected an IP address or CIDR block such as 192.0.2.0/24`,
            ),
          );
      });
      t.routes.forEach((r, i) => {
        if (!flowNames.includes(r.flow))
          errors.push(
            err(P('centre.yaml'), ['trunks', tn, 'routes', i, 'flow'], `unknown IVR flow "${r.flow}"; flows are ${flowNames.join(', ')}`),
          );
        try {
          new RegExp(`^(?:${r.match})$`);
        } catch (e) {
          errors.push(err(P('centre.yaml'), ['trunks', tn, 'routes', i, 'match'], `bad number pattern: ${(e as Error).message}`));
        }
      });
    }
    if (centre.outbound && queuesFile && agentsFile) {
      const known = { queues: new Set(Object.keys(queuesFile.queues)), agents: new Set(agentsFile.agents.map((a) => a.id)) };
      for (const pr of checkOutbound(centre.outbound, known)) errors.push(err(P('centre.yaml'), pr.path, pr.message));
    }
    const tz = centre.server.timezone;
    if (!isValidTimeZone(tz)) {
      errors.push(err(P('centre.yaml'), ['server', 'timezone'], `unknown time zone "${tz}"`));
    }
    const { sip, http } = centre.server;
    if (http.port === sip.tcpPort || http.port === sip.tls?.port) {
      errors.push(err(P('centre.yaml'), ['server', 'http', 'port'], `HTTP port ${http.port} is also a SIP TCP/TLS port`));
    }
    const https = http.tls?.port;
    if (https !== undefined && (https === http.port || https === sip.tcpPort || https === sip.tls?.port)) {
      errors.push(err(P('centre.yaml'), ['server', 'http', 'tls', 'port'], `HTTPS port ${https} is also the HTTP or a SIP TCP/TLS port`));
    }
  }
  if (allFlows && queuesFile && hoursFile && promptsFile && promptNames && skills) {
    for (const pr of checkFlows({
      flows,
      queues: new Set(Object.keys(queuesFile.queues)),
      calendars: new Set(Object.keys(hoursFile.calendars)),
      prompts: promptNames,
      skills: new Set(Object.keys(skills)),
      promptTexts: Object.fromEntries(
        Object.entries(promptsFile.prompts).map(([n, p]) => [
          n,
          [p.text, ...Object.values(p.languages ?? {}).map((l) => l.text)].filter(Boolean).join(' '),
        ]),
      ),
      fileExists,
    })) {
      errors.push(err(P(flowFileOf(pr.flow, flowFiles)), pr.path, pr.message, pr.atKey));
    }
  }
  if (qaFile && queuesFile) {
    for (const pr of checkQaConfig(qaFile, new Set(Object.keys(queuesFile.queues)))) {
      const p = parsed.get('qa.yaml');
      errors.push(p ? err(p, pr.path, pr.message, pr.atKey) : { file: 'qa.yaml', line: 0, column: 0, path: pr.path, message: pr.message });
    }
  }
  // Supervisor floor: alert rules and surge plans name queues, agents, groups and flows.
  if (centre?.floor && agentsFile && queuesFile) {
    for (const pr of checkFloor(centre.floor, {
      queues: new Set(Object.keys(queuesFile.queues)),
      agents: new Set(agentsFile.agents.map((a) => a.id)),
      flows: new Set(flowNames),
      skillGroups: new Set(Object.keys(agentsFile.skills)),
    }))
      errors.push(err(P('centre.yaml'), ['floor', ...pr.path], pr.message));
  }
  if (errors.length || !centre || !agentsFile || !queuesFile || !hoursFile || !promptsFile || !allFlows || !qaFile) {
    return { ok: false, errors: errors.length ? errors : [{ file: dir, line: 0, column: 0, path: [], message: 'config incomplete' }] };
  }

  const s = centre.server;
  const dataDir = path.resolve(cwd, s.dataDir);
  // Certificate files are named like prompt files: relative to the config directory.
  const withFiles = <T extends { certFile?: string | undefined; keyFile?: string | undefined }>(t: T | undefined): T | undefined =>
    t && {
      ...t,
      ...(t.certFile ? { certFile: path.resolve(absDir, t.certFile) } : {}),
      ...(t.keyFile ? { keyFile: path.resolve(absDir, t.keyFile) } : {}),
    };
  const server: ResolvedServer = {
    ...s,
    http: { ...s.http, tls: withFiles(s.http.tls) },
    sip: { ...s.sip, tls: withFiles(s.sip.tls) },
    dataDir,
    database: { ...s.database, dataDir: path.resolve(cwd, s.database.dataDir ?? path.join(dataDir, 'postgres')) },
    // Recordings are runtime data like the rest: a relative dir is read under dataDir, so two
    // centres with their own CC_DATA_DIR never share a folder (retention in one would delete the
    // other's audio). An absolute dir is taken as it is.
    recordings: { dir: path.resolve(dataDir, s.recordings.dir ?? 'recordings'), retentionDays: s.recordings.retentionDays },
    ttsCacheDir: path.join(dataDir, 'tts'),
  };
  const absPrompt = (f: string | undefined): string | undefined => (f === undefined ? undefined : path.resolve(absDir, f));
  const prompts: Record<string, Prompt> = {};
  for (const [pn, pr] of Object.entries(promptsFile.prompts)) {
    const languages = pr.languages
      ? Object.fromEntries(Object.entries(pr.languages).map(([l, v]) => [l, { ...v, file: absPrompt(v.file) }]))
      : undefined;
    prompts[pn] = { ...pr, file: absPrompt(pr.file), languages };
  }
  const config: CentreConfig = deepFreeze({
    dir: absDir,
    version: hashFiles(absDir, [...parsed.keys()]),
    name: centre.name,
    server,
    kpi: centre.kpi,
    trunks: centre.trunks,
    outbound: centre.outbound,
    skills: agentsFile.skills,
    auxCodes: agentsFile.auxCodes,
    agents: agentsFile.agents,
    queues: queuesFile.queues,
    calendars: hoursFile.calendars,
    prompts,
    musicOnHold: promptsFile.musicOnHold,
    flows,
    planning: centre.planning ?? DEFAULT_PLANNING,
    targets: centre.targets,
    qa: resolveQaConfig(qaFile),
    floor: centre.floor ?? DEFAULT_FLOOR,
  });
  return { ok: true, config };
}

function flowFileOf(flow: string, files: string[]): string {
  return files.find((f) => path.basename(f).replace(/\.ya?ml$/, '') === flow) ?? `ivr/${flow}.yaml`;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
