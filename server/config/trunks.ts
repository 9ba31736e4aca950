/**
 * Which trunk an INVITE came in on (by source address) and which IVR flow answers the dialled
 * number (first matching route). Built once per config version. Outbound: which trunk a number
 * the centre dials goes out on, as E.164, with its caller ID and call limit (OutboundTrunks).
 */
import { BlockList, isIP } from 'node:net';
import type { OutboundConfig, OutboundTrunk, Trunk } from './schema.ts';
import { parseCidr, plainAddress } from '../../lib/ratelimit.ts';

export interface CallRoute {
  trunk: string;
  flow: string;
}

export class TrunkTable {
  private readonly entries: { name: string; allow: BlockList; routes: { re: RegExp; flow: string }[] }[] = [];

  constructor(trunks: Readonly<Record<string, Trunk>>) {
    for (const [name, t] of Object.entries(trunks)) {
      const allow = new BlockList();
      for (const rule of t.from) {
        const r = parseCidr(rule);
        if (!r) continue; // the loader has rejected malformed rules already
        if (r.prefix === undefined) allow.addAddress(r.address, r.family);
        else allow.addSubnet(r.address, r.prefix, r.family);
      }
      this.entries.push({ name, allow, routes: t.routes.map((x) => ({ re: new RegExp(`^(?:${x.match})$`), flow: x.flow })) });
    }
  }

  /** The trunk whose `from` covers `source` (an IPv4-mapped IPv6 address counts as IPv4). */
  trunkFor(source: string): string | undefined {
    const addr = plainAddress(source);
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(addr) === 0) return undefined;
    return this.entries.find((e) => e.allow.check(addr, family))?.name;
  }

  /** Trunk and IVR flow for a call from `source` to `dialled`, or undefined (reject the call). */
  route(source: string, dialled: string): CallRoute | undefined {
    const name = this.trunkFor(source);
    const e = this.entries.find((x) => x.name === name);
    const r = e?.routes.find((x) => x.re.test(dialled));
    return e && r ? { trunk: e.name, flow: r.flow } : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Outbound: numbering (dialled → E.164), routing (E.164 → trunk), the Request-URI, caller ID and
// each trunk's concurrent-call count. Pure: no SIP; dial.ts places the call.

const E164_RE = /^\+[1-9]\d{1,14}$/;

/** Why a number cannot be dialled, with the HTTP status an API answers it with. */
export class DialError extends Error {
  override name = 'DialError';
  constructor(
    readonly code: 'no-outbound' | 'bad-number' | 'no-trunk' | 'trunk-full',
    message: string,
    readonly status = code === 'trunk-full' ? 503 : code === 'no-outbound' ? 501 : 422,
  ) {
    super(message);
  }
}

/** Where one INVITE goes: the Request-URI, and the carrier address(es) in order. */
export interface OutboundTarget {
  trunk: string;
  /** The number as E.164. */
  e164: string;
  /** The Request-URI user part as the trunk wants it (format). */
  user: string;
  /** One Request-URI per carrier address, in failover order (a domain: one, resolved by SRV). */
  uris: string[];
  /** The carrier's SIP domain or first host, for From/To. */
  domain: string;
  auth?: { username: string; password: string };
  ringTimeoutMs: number;
  maxCalls?: number;
}

/** The number as dialled made E.164 by the numbering rules, or a DialError('bad-number'). */
export function normaliseNumber(dialled: string, n: OutboundConfig['numbering']): string {
  const raw = dialled.trim().replace(/[\s\-.()/]/g, '');
  let x = raw;
  for (const r of n.rules) {
    const re = new RegExp(`^(?:${r.match})$`);
    if (re.test(x)) {
      x = x.replace(re, r.replace);
      break;
    }
  }
  if (!x.startsWith('+')) {
    if (!/^\d+$/.test(x)) throw new DialError('bad-number', `"${dialled}" is not a phone number`);
    if (x.startsWith(n.internationalPrefix)) x = `+${x.slice(n.internationalPrefix.length)}`;
    else if (n.nationalPrefix !== '' && x.startsWith(n.nationalPrefix)) x = `+${n.countryCode}${x.slice(n.nationalPrefix.length)}`;
    else if (n.nationalPrefix === '') x = `+${n.countryCode}${x}`;
    else
      throw new DialError(
        'bad-number',
        `"${dialled}" is neither international (+, ${n.internationalPrefix}) nor national (${n.nationalPrefix})`,
      );
  }
  if (!E164_RE.test(x)) throw new DialError('bad-number', `"${dialled}" does not make an E.164 number (got ${x})`);
  return x;
}

/** The E.164 number written as the trunk wants it in the Request-URI. */
export function formatNumber(e164: string, format: OutboundTrunk['format'], n: OutboundConfig['numbering']): string {
  if (format === 'e164') return e164;
  if (format === 'digits') return e164.slice(1);
  const cc = `+${n.countryCode}`;
  return e164.startsWith(cc) ? `${n.nationalPrefix}${e164.slice(cc.length)}` : `${n.internationalPrefix}${e164.slice(1)}`;
}

/** References to other files (queues, agents in caller-ID maps): path under centre.yaml `outbound`. */
export function checkOutbound(
  o: OutboundConfig,
  known: { queues: ReadonlySet<string>; agents: ReadonlySet<string> },
): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  for (const [tn, t] of Object.entries(o.trunks)) {
    for (const q of Object.keys(t.callerId.queues))
      if (!known.queues.has(q)) out.push({ path: ['outbound', 'trunks', tn, 'callerId', 'queues', q], message: `unknown queue "${q}"` });
    for (const a of Object.keys(t.callerId.agents))
      if (!known.agents.has(a)) out.push({ path: ['outbound', 'trunks', tn, 'callerId', 'agents', a], message: `unknown agent "${a}"` });
  }
  return out;
}

/**
 * The outbound plan in force: numbering, first-match routes, and per-trunk call counts that
 * survive a config reload (a trunk's calls in progress still count against its new limit).
 */
export class OutboundTrunks {
  #config: OutboundConfig | undefined;
  #routes: { test: (e164: string) => boolean; trunk: string }[] = [];
  readonly #active = new Map<string, number>();

  constructor(config: OutboundConfig | undefined) {
    this.configure(config);
  }

  configure(config: OutboundConfig | undefined): void {
    this.#config = config;
    this.#routes = (config?.routes ?? []).map((r) => {
      if (r.prefix !== undefined) {
        const p = r.prefix.startsWith('+') || r.prefix === '' ? r.prefix : `+${r.prefix}`;
        return { trunk: r.trunk, test: (n: string) => n.startsWith(p) };
      }
      const re = new RegExp(`^(?:${r.match})$`);
      return { trunk: r.trunk, test: (n: string) => re.test(n) };
    });
  }

  get configured(): boolean {
    return this.#config !== undefined;
  }

  /** Calls up or ringing on a trunk now. */
  active(trunk: string): number {
    return this.#active.get(trunk) ?? 0;
  }

  /** Number → E.164 → trunk → Request-URIs. Throws DialError (no outbound config, bad number, no trunk). */
  target(dialled: string): OutboundTarget {
    const c = this.#config;
    if (!c) throw new DialError('no-outbound', 'no outbound trunk is configured (centre.yaml outbound:)');
    const e164 = normaliseNumber(dialled, c.numbering);
    const route = this.#routes.find((r) => r.test(e164));
    const t = route ? c.trunks[route.trunk] : undefined;
    if (!route || !t) throw new DialError('no-trunk', `no outbound trunk serves ${e164}`);
    const user = formatNumber(e164, t.format, c.numbering);
    const u = encodeURIComponent(user).replace(/%2B/g, '+');
    const hostPart = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
    const addresses = t.host !== undefined ? [{ host: t.host, port: t.port, transport: t.transport ?? 'udp' }] : (t.addresses ?? []);
    const uris =
      t.domain !== undefined
        ? [`sip:${u}@${t.domain}`]
        : addresses.map((a) => {
            const port = a.port ?? (a.transport === 'tls' ? 5061 : 5060);
            return `${a.transport === 'tls' ? 'sips' : 'sip'}:${u}@${hostPart(a.host)}:${port}${a.transport === 'tcp' ? ';transport=tcp' : ''}`;
          });
    return {
      trunk: route.trunk,
      e164,
      user,
      uris,
      domain: t.domain ?? addresses[0]?.host ?? 'invalid',
      ...(t.username !== undefined ? { auth: { username: t.username, password: t.password ?? '' } } : {}),
      ringTimeoutMs: t.ringTimeoutSec * 1000,
      ...(t.maxCalls !== undefined ? { maxCalls: t.maxCalls } : {}),
    };
  }

  /** The caller ID the trunk presents for a call placed for `queue` and/or `agentId`. */
  callerId(trunk: string, by: { queue?: string | undefined; agentId?: string | undefined }): string {
    const t = this.#config?.trunks[trunk];
    if (!t) throw new DialError('no-trunk', `unknown outbound trunk "${trunk}"`);
    const c = t.callerId;
    if (c.policy === 'agent' && by.agentId !== undefined && c.agents[by.agentId]) return c.agents[by.agentId]!;
    if ((c.policy === 'queue' || c.policy === 'agent') && by.queue !== undefined && c.queues[by.queue]) return c.queues[by.queue]!;
    return c.centre;
  }

  /**
   * Take one of the trunk's call slots (release it exactly once when the call ends), or throw
   * DialError('trunk-full') when the trunk is at its limit.
   */
  acquire(target: OutboundTarget): () => void {
    const n = this.active(target.trunk);
    if (target.maxCalls !== undefined && n >= target.maxCalls)
      throw new DialError('trunk-full', `outbound trunk "${target.trunk}" is at its limit of ${target.maxCalls} calls`);
    this.#active.set(target.trunk, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active.set(target.trunk, Math.max(0, this.active(target.trunk) - 1));
    };
  }
}
