/**
 * Whole-config checks of IVR flows that a schema cannot express: references between nodes, flows,
 * queues, calendars and prompts; nodes no caller can reach; menus a caller cannot leave; digit
 * patterns that do not compile. Pure: file existence is asked through a callback.
 */
import type { Flow, IvrNode, PromptRef } from './schema.ts';

export interface FlowProblem {
  flow: string;
  /** Path inside the flow document. */
  path: (string | number)[];
  /** Point at the key rather than the value (e.g. an unreachable node's name). */
  atKey?: boolean;
  message: string;
}

export interface CheckContext {
  flows: Record<string, Flow>;
  queues: ReadonlySet<string>;
  calendars: ReadonlySet<string>;
  prompts: ReadonlySet<string>;
  skills: ReadonlySet<string>;
  /** Transcript of each catalogue prompt, to check the {{variables}} it speaks. */
  promptTexts?: Readonly<Record<string, string | undefined>>;
  /** Does a prompt file (relative to the config directory) exist? */
  fileExists: (file: string) => boolean;
}

export interface NodeAddress {
  flow: string;
  node: string;
}

/** Resolve `node`, `flow:node` or `flow:` as seen from `fromFlow`. */
export function resolveTarget(target: string, fromFlow: string, flows: Record<string, Flow>): NodeAddress | undefined {
  const i = target.indexOf(':');
  const flowName = i >= 0 ? target.slice(0, i) : fromFlow;
  const flow = flows[flowName];
  if (!flow) return undefined;
  const node = i >= 0 && target.slice(i + 1) === '' ? flow.start : i >= 0 ? target.slice(i + 1) : target;
  return Object.hasOwn(flow.nodes, node) ? { flow: flowName, node } : undefined;
}

/** Branches out of a node, as [key in the node, target]. */
export function branches(node: IvrNode): [string[], string][] {
  const out: [string[], string][] = [];
  const add = (key: string[], t: string | undefined): void => {
    if (t !== undefined) out.push([key, t]);
  };
  switch (node.type) {
    case 'play':
    case 'survey':
      add(['next'], node.next);
      break;
    case 'menu':
      for (const [k, t] of Object.entries(node.choices)) add(['choices', k], t);
      add(['onFail'], node.onFail);
      break;
    case 'collect':
      add(['next'], node.next);
      add(['onFail'], node.onFail);
      break;
    case 'hours':
      add(['open'], node.open);
      add(['closed'], node.closed);
      add(['holiday'], node.holiday);
      break;
    case 'set':
    case 'language':
      add(['next'], node.next);
      break;
    case 'lookup':
      add(['next'], node.next);
      add(['onFailure'], node.onFailure);
      break;
    case 'queue':
      add(['full'], node.full);
      add(['timeout'], node.timeout);
      add(['closed'], node.closed);
      add(['afterCall'], node.afterCall);
      add(['callbackAccepted'], node.callbackAccepted);
      break;
    case 'callback':
      add(['accepted'], node.accepted);
      add(['declined'], node.declined);
      break;
    case 'goto':
      add(['target'], node.target);
      break;
    case 'transfer':
    case 'hangup':
      break;
  }
  return out;
}

/** Nodes that end the IVR part of the call: to a person, another number, or a clean hang-up. */
function isExit(node: IvrNode): boolean {
  switch (node.type) {
    case 'queue':
    case 'transfer':
    case 'hangup':
    case 'callback':
    case 'survey':
      return true;
    case 'play':
      return node.next === undefined;
    default:
      return false;
  }
}

function promptRefs(node: IvrNode): [string[], PromptRef][] {
  const out: [string[], PromptRef][] = [];
  const rec = node as Record<string, unknown>;
  for (const key of ['prompt', 'invalidPrompt', 'timeoutPrompt', 'confirmPrompt', 'thanksPrompt', 'callbackConfirmPrompt']) {
    const v = rec[key];
    if (v === undefined) continue;
    if (Array.isArray(v)) v.forEach((p, i) => out.push([[key, String(i)], p as PromptRef]));
    else out.push([[key], v as PromptRef]);
  }
  return out;
}

function names(set: Iterable<string>): string {
  const all = [...set];
  return all.length ? all.map((s) => `"${s}"`).join(', ') : '(none defined)';
}

export function checkFlows(ctx: CheckContext): FlowProblem[] {
  const problems: FlowProblem[] = [];
  const { flows } = ctx;
  const key = (a: NodeAddress): string => `${a.flow}:${a.node}`;

  // References.
  for (const [flowName, flow] of Object.entries(flows)) {
    if (!Object.hasOwn(flow.nodes, flow.start)) {
      problems.push({
        flow: flowName,
        path: ['start'],
        message: `unknown start node "${flow.start}"; nodes are ${names(Object.keys(flow.nodes))}`,
      });
    }
    for (const [nodeName, node] of Object.entries(flow.nodes)) {
      const at = ['nodes', nodeName];
      for (const [k, target] of branches(node)) {
        if (resolveTarget(target, flowName, flows)) continue;
        const i = target.indexOf(':');
        const msg =
          i >= 0 && !flows[target.slice(0, i)]
            ? `unknown flow "${target.slice(0, i)}" in "${target}"; flows are ${names(Object.keys(flows))}`
            : `unknown node reference "${target}"; expected one of ${names(Object.keys(flows[i >= 0 ? target.slice(0, i) : flowName]?.nodes ?? {}))}`;
        problems.push({ flow: flowName, path: [...at, ...k], message: msg });
      }
      if ((node.type === 'queue' || node.type === 'callback') && !ctx.queues.has(node.queue)) {
        problems.push({
          flow: flowName,
          path: [...at, 'queue'],
          message: `unknown queue "${node.queue}"; queues are ${names(ctx.queues)}`,
        });
      }
      if (node.type === 'queue') {
        node.skills?.forEach((s, i) => {
          if (!ctx.skills.has(s.skill))
            problems.push({
              flow: flowName,
              path: [...at, 'skills', i, 'skill'],
              message: `unknown skill "${s.skill}"; skills are ${names(ctx.skills)}`,
            });
        });
      }
      if (node.type === 'transfer' && !/^\+?[0-9*#]+$/.test(node.number.replace(/\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}/g, '0'))) {
        problems.push({
          flow: flowName,
          path: [...at, 'number'],
          message: `bad transfer number "${node.number}": expected digits, optionally with a leading + (E.164) and {{variables}}`,
        });
      }
      if (node.type === 'hours' && !ctx.calendars.has(node.calendar)) {
        problems.push({
          flow: flowName,
          path: [...at, 'calendar'],
          message: `unknown calendar "${node.calendar}"; calendars in hours.yaml are ${names(ctx.calendars)}`,
        });
      }
      if (node.type === 'collect') {
        if (node.minDigits > node.maxDigits) {
          problems.push({
            flow: flowName,
            path: [...at, 'minDigits'],
            message: `minDigits (${node.minDigits}) exceeds maxDigits (${node.maxDigits})`,
          });
        }
        if (node.pattern !== undefined) {
          const err = digitPatternError(node.pattern);
          if (err) problems.push({ flow: flowName, path: [...at, 'pattern'], message: err });
        }
      }
      for (const [k, ref] of promptRefs(node)) {
        if (typeof ref === 'string') {
          if (!ctx.prompts.has(ref))
            problems.push({ flow: flowName, path: [...at, ...k], message: `unknown prompt "${ref}"; define it in prompts.yaml` });
        } else if ('file' in ref && !ctx.fileExists(ref.file)) {
          problems.push({
            flow: flowName,
            path: [...at, ...k, 'file'],
            message: `missing prompt file "${ref.file}" (paths are relative to the config directory)`,
          });
        }
      }
    }
  }

  problems.push(...checkVariables(ctx));

  // Reachability: every flow's start is an entry (trunks route to flows; others are entered by goto).
  const reached = new Set<string>();
  const stack: NodeAddress[] = [];
  for (const [flowName, flow] of Object.entries(flows)) {
    if (Object.hasOwn(flow.nodes, flow.start)) stack.push({ flow: flowName, node: flow.start });
  }
  while (stack.length) {
    const a = stack.pop()!;
    if (reached.has(key(a))) continue;
    reached.add(key(a));
    const node = flows[a.flow]?.nodes[a.node];
    if (!node) continue;
    for (const [, t] of branches(node)) {
      const r = resolveTarget(t, a.flow, flows);
      if (r && !reached.has(key(r))) stack.push(r);
    }
  }
  for (const [flowName, flow] of Object.entries(flows)) {
    for (const nodeName of Object.keys(flow.nodes)) {
      if (!reached.has(`${flowName}:${nodeName}`)) {
        problems.push({
          flow: flowName,
          path: ['nodes', nodeName],
          atKey: true,
          message: `unreachable node "${nodeName}": no branch leads to it from "${flow.start}"`,
        });
      }
    }
  }

  // Menus a caller cannot leave: no choice leads, through any path, to an exit.
  for (const [flowName, flow] of Object.entries(flows)) {
    for (const [nodeName, node] of Object.entries(flow.nodes)) {
      if (node.type !== 'menu') continue;
      const seen = new Set<string>([`${flowName}:${nodeName}`]);
      const work: NodeAddress[] = [];
      for (const t of Object.values(node.choices)) {
        const r = resolveTarget(t, flowName, flows);
        if (r) work.push(r);
      }
      let found = false;
      while (work.length && !found) {
        const a = work.pop()!;
        if (seen.has(key(a))) continue;
        seen.add(key(a));
        const n = flows[a.flow]?.nodes[a.node];
        if (!n) continue;
        if (isExit(n)) found = true;
        for (const [, t] of branches(n)) {
          const r = resolveTarget(t, a.flow, flows);
          if (r) work.push(r);
        }
      }
      if (!found) {
        problems.push({
          flow: flowName,
          path: ['nodes', nodeName, 'choices'],
          message: `menu "${nodeName}" has no way out: no choice leads to a queue, transfer, callback, survey or hang-up`,
        });
      }
    }
  }
  return problems;
}

/** Why a collect pattern is unusable, or undefined if fine. */
export function digitPatternError(pattern: string): string | undefined {
  try {
    new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    return `bad digit pattern /${pattern}/: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
  // A pattern that only letters could satisfy never matches DTMF input.
  if (/[A-Za-z]/.test(pattern.replace(/\\[dDbB]/g, ''))) {
    return `bad digit pattern /${pattern}/: callers can only key 0-9, * and #`;
  }
  return undefined;
}

/** Variables every call has, set by the session itself or by the call layer. */
export const BUILTIN_VARIABLES = ['callerId', 'dialled', 'lang', 'callId', 'trunk'] as const;

const VAR_RE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/**
 * A {{variable}} no node ever sets is a typo that would silently speak or dial an empty string:
 * report it at the node that uses it.
 */
function checkVariables(ctx: CheckContext): FlowProblem[] {
  const defined = new Set<string>(BUILTIN_VARIABLES);
  for (const flow of Object.values(ctx.flows)) {
    for (const node of Object.values(flow.nodes)) {
      if (node.type === 'set') for (const k of Object.keys(node.vars)) defined.add(k);
      if (node.type === 'lookup') for (const k of Object.keys(node.assign)) defined.add(k);
      if (node.type === 'collect' || node.type === 'survey') defined.add(node.into);
    }
  }
  const problems: FlowProblem[] = [];
  for (const [flowName, flow] of Object.entries(ctx.flows)) {
    for (const [nodeName, node] of Object.entries(flow.nodes)) {
      const uses: [(string | number)[], string, string?][] = [];
      for (const [k, ref] of promptRefs(node)) {
        if (typeof ref === 'string') {
          const text = ctx.promptTexts?.[ref];
          if (text !== undefined) uses.push([k, text, `prompt "${ref}"`]);
        } else if ('text' in ref) uses.push([[...k, 'text'], ref.text]);
      }
      if (node.type === 'set') for (const [k, v] of Object.entries(node.vars)) uses.push([['vars', k], String(v)]);
      if (node.type === 'lookup') {
        uses.push([['url'], node.url]);
        if (node.body !== undefined) uses.push([['body'], node.body]);
      }
      if (node.type === 'transfer' || node.type === 'callback') uses.push([['number'], node.number]);
      if (node.type === 'queue' && node.callbackKey !== undefined) uses.push([['callbackNumber'], node.callbackNumber]);
      for (const [k, text, via] of uses) {
        for (const m of text.matchAll(VAR_RE)) {
          const v = m[1]!;
          if (!defined.has(v)) {
            problems.push({
              flow: flowName,
              path: ['nodes', nodeName, ...k],
              message: `unknown variable "{{${v}}}"${via ? ` in ${via}` : ''}: no set, lookup, collect or survey node sets it (built-in: ${BUILTIN_VARIABLES.join(', ')})`,
            });
          }
        }
      }
    }
  }
  return problems;
}
