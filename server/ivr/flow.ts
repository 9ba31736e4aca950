/**
 * A compiled, immutable set of IVR flows: one per config version. A session holds the FlowSet it
 * started with, so a reload never changes the tree under a caller who is already in it.
 */
import type { CentreConfig } from '../config/load.ts';
import type { Prompt } from '../config/schema.ts';
import type { Calendar } from './calendar.ts';
import { resolveTarget, type NodeAddress } from './check.ts';
import type { Flow, IvrNode, PromptRef } from './schema.ts';

/** What the media layer plays: a file, or text for the TTS provider. `name`/`text` are for people. */
export type ResolvedPrompt =
  { kind: 'file'; file: string; name?: string; text?: string } | { kind: 'tts'; text: string; lang: string; name?: string };

export interface FlowSet {
  /** The config version these flows came from. */
  readonly version: string;
  readonly flows: Readonly<Record<string, Flow>>;
  readonly prompts: Readonly<Record<string, Prompt>>;
  readonly calendars: Readonly<Record<string, Calendar>>;
  /** Music on hold per queue (queue's own or the centre's), resolved. */
  readonly musicOnHold: Readonly<Record<string, ResolvedPrompt | undefined>>;
  has(flow: string): boolean;
  node(addr: NodeAddress): IvrNode | undefined;
  resolve(target: string, fromFlow: string): NodeAddress | undefined;
  /** Resolve a prompt reference for a language, substituting {{variables}} in text. */
  prompt(ref: PromptRef, lang: string, vars: Readonly<Record<string, string>>): ResolvedPrompt;
}

/**
 * `{{name}}` → vars[name] ('' when unset). Caller-supplied values are escaped for where they land:
 * 'url' URL-encodes them, 'json' escapes them for the inside of a JSON string.
 */
export function renderTemplate(tpl: string, vars: Readonly<Record<string, string>>, encode: false | true | 'url' | 'json' = false): string {
  return tpl.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => {
    const v = Object.hasOwn(vars, name) ? (vars[name] ?? '') : '';
    if (encode === true || encode === 'url') return encodeURIComponent(v);
    if (encode === 'json') return JSON.stringify(v).slice(1, -1);
    return v;
  });
}

export function compileFlows(
  config: Pick<CentreConfig, 'version' | 'flows' | 'prompts' | 'calendars' | 'queues' | 'musicOnHold' | 'dir'>,
): FlowSet {
  const { flows, prompts, calendars } = config;
  const resolvePrompt = (ref: PromptRef, lang: string, vars: Readonly<Record<string, string>>): ResolvedPrompt => {
    if (typeof ref === 'string') {
      const p = prompts[ref];
      // Validation guarantees the name exists; speak the name rather than fail a live call.
      if (!p) return { kind: 'tts', text: ref, lang, name: ref };
      const v = p.languages?.[lang];
      const file = v?.file ?? (v?.text === undefined ? p.file : undefined);
      const text = v?.text ?? p.text;
      if (file !== undefined) return { kind: 'file', file, name: ref, ...(text !== undefined ? { text: renderTemplate(text, vars) } : {}) };
      return { kind: 'tts', text: renderTemplate(text ?? ref, vars), lang, name: ref };
    }
    if ('file' in ref) return { kind: 'file', file: ref.file.startsWith('/') ? ref.file : `${config.dir}/${ref.file}` };
    return { kind: 'tts', text: renderTemplate(ref.text, vars), lang: ref.lang ?? lang };
  };
  const musicOnHold: Record<string, ResolvedPrompt | undefined> = {};
  for (const [qn, q] of Object.entries(config.queues)) {
    const name = q.moh ?? config.musicOnHold;
    musicOnHold[qn] = name !== undefined ? resolvePrompt(name, 'en', {}) : undefined;
  }
  return Object.freeze({
    version: config.version,
    flows,
    prompts,
    calendars,
    musicOnHold: Object.freeze(musicOnHold),
    has: (f: string) => Object.hasOwn(flows, f),
    node: (a: NodeAddress) =>
      Object.hasOwn(flows, a.flow) && Object.hasOwn(flows[a.flow]!.nodes, a.node) ? flows[a.flow]!.nodes[a.node] : undefined,
    resolve: (t: string, from: string) => resolveTarget(t, from, flows),
    prompt: resolvePrompt,
  });
}
