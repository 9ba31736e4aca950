/**
 * Locating a carrier's SIP servers and failing over between them for our outbound INVITE
 * (RFC 3263 §4.2-§4.3 without NAPTR, SRV ordering of RFC 2782).
 *
 *   const targets = await resolveTargets('carrier.example');           // SRV _sip._udp.carrier.example
 *   const targets = await resolveTargets(['10.0.0.1:5060', 'sbc2.example:5080;transport=tcp']);
 *   const dialog = await inviteWithFailover(sip, 'sip:+441234@carrier.example', { localSdp }, {
 *     targets: 'carrier.example',          // or a list, or Destination[] already resolved
 *     attemptTimeoutMs: 3000,              // no response at all from one address: try the next
 *     onAttempt: (dest, i) => log.info({ dest, i }, 'trying'),
 *   });
 *
 * A target spec is either
 * - a list (array, or one string separated by commas or spaces) of `host[:port][;transport=udp|tcp|tls]`
 *   (an optional `sip:`/`sips:` prefix is allowed), tried in the order given; a host name there is
 *   resolved to one address (A/AAAA), port default 5060 (5061 for TLS); or
 * - a single domain without a port: its SRV records (`_sip._udp.<domain>`, or `_sip._tcp`/`_sips._tcp`
 *   with `;transport=tcp|tls`) in RFC 2782 order (priority ascending, weighted random within one
 *   priority), each target host resolved to an address; without SRV records, the domain's own
 *   address on the default port.
 * The resolver is injectable (`resolver`), so tests need no DNS; the default is node's dns.promises.
 *
 * inviteWithFailover tries each address with the stack's own createUAC (the same Dialog result
 * and SipError rejections), moving to the next on a transport error (local 503), on no response
 * at all within attemptTimeoutMs (default 3 s; 408 'No Response'), on Timer B (408), or on a 503
 * response from the server. Any other final response (486, 404, 603 …), an answer, CANCEL by the
 * caller's signal, or the whole-call timeoutMs ('No Answer') stops there. When every address has
 * failed the last error is thrown.
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { SipError, type Transport } from './message.ts';
import type { Destination } from './transport.ts';
import type { Dialog } from './dialog.ts';
import type { UacOptions } from './uac.ts';

export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/** DNS as locate.ts uses it. */
export interface LocateResolver {
  resolveSrv(name: string): Promise<SrvRecord[]>;
  /** One address (IPv4 or IPv6) for a host name. */
  lookup(host: string): Promise<string>;
}

export const systemResolver: LocateResolver = {
  resolveSrv: (name) => dns.resolveSrv(name),
  lookup: async (host) => (await dns.lookup(host)).address,
};

/** A list of addresses, or one domain to resolve by SRV (see the file header). */
export type TargetSpec = string | string[];

export interface ResolveOptions {
  resolver?: LocateResolver;
  /** For the weighted choice within one SRV priority (RFC 2782); Math.random by default. */
  random?: () => number;
}

const DEFAULT_PORT: Record<Transport, number> = { udp: 5060, tcp: 5060, tls: 5061, ws: 80, wss: 443 };

interface Entry {
  host: string;
  port?: number;
  transport: Transport;
  explicitTransport: boolean;
}

function parseEntry(raw: string): Entry {
  let s = raw.trim().replace(/^sips?:/i, '');
  const secure = /^sips:/i.test(raw.trim());
  let transport: Transport = secure ? 'tls' : 'udp';
  let explicitTransport = secure;
  const params = s.split(';');
  s = params.shift() ?? '';
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'transport') {
      const t = v?.trim().toLowerCase();
      if (t !== 'udp' && t !== 'tcp' && t !== 'tls') throw new Error(`unsupported transport in target ${raw}`);
      transport = t;
      explicitTransport = true;
    }
  }
  let host = s;
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else if (isIP(s) !== 6) {
    const m = /^([^:]+)(?::(\d+))?$/.exec(s);
    if (!m) throw new Error(`bad target ${raw}`);
    host = m[1]!;
    if (m[2]) port = Number(m[2]);
  }
  if (!host || (port !== undefined && (port < 1 || port > 65535))) throw new Error(`bad target ${raw}`);
  return { host, ...(port !== undefined ? { port } : {}), transport, explicitTransport };
}

/** RFC 2782 order: priority ascending; within a priority, weighted random (zero weights first in the running sum). */
export function orderSrv(records: SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const r of records) {
    const list = byPriority.get(r.priority);
    if (list) list.push(r);
    else byPriority.set(r.priority, [r]);
  }
  const out: SrvRecord[] = [];
  for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
    const left = [...byPriority.get(p)!].sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (left.length) {
      const sum = left.reduce((a, r) => a + r.weight, 0);
      const pick = Math.floor(random() * (sum + 1));
      let run = 0;
      let i = left.findIndex((r) => (run += r.weight) >= pick);
      if (i < 0) i = left.length - 1;
      out.push(left.splice(i, 1)[0]!);
    }
  }
  return out;
}

async function address(host: string, resolver: LocateResolver): Promise<string | undefined> {
  if (isIP(host)) return host;
  return resolver.lookup(host).catch(() => undefined);
}

/** Resolve a target spec to the ordered list of destinations to try (see the file header). */
export async function resolveTargets(spec: TargetSpec, opts: ResolveOptions = {}): Promise<Destination[]> {
  const resolver = opts.resolver ?? systemResolver;
  const items = (Array.isArray(spec) ? spec : spec.split(/[\s,]+/)).map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new Error('empty target list');
  const entries = items.map(parseEntry);
  const out: Destination[] = [];
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only && only.port === undefined && !isIP(only.host)) {
    const name = only.transport === 'tls' ? `_sips._tcp.${only.host}` : `_sip._${only.transport}.${only.host}`;
    const records = await resolver.resolveSrv(name).catch(() => [] as SrvRecord[]);
    for (const r of orderSrv(records, opts.random)) {
      // A target of "." means the service is decidedly not available here (RFC 2782).
      if (r.name === '.' || r.name === '') continue;
      const a = await address(r.name, resolver);
      if (a) out.push({ transport: only.transport, address: a, port: r.port });
    }
    if (records.length) return out;
  }
  for (const e of entries) {
    const a = await address(e.host, resolver);
    if (a) out.push({ transport: e.transport, address: a, port: e.port ?? DEFAULT_PORT[e.transport] });
  }
  return out;
}

/** Is this failure of one attempt a reason to try the carrier's next address (RFC 3263 §4.3)? */
export function failsOver(err: unknown): err is SipError {
  if (!(err instanceof SipError)) return false;
  if (err.status === 503) return true; // a 503 response, or our transport error
  // Timer B or no response at all; not the caller's whole-call 'No Answer', nor a 408 the server sent.
  return err.status === 408 && !err.response && err.reason !== 'No Answer';
}

export interface FailoverOptions extends ResolveOptions {
  /** Where to send: a spec for resolveTargets, or destinations already resolved. */
  targets: TargetSpec | Destination[];
  /** No response at all from one address within this long: try the next (default 3000 ms). */
  attemptTimeoutMs?: number;
  /** Before each attempt. */
  onAttempt?: (dest: Destination, index: number) => void;
  /** An attempt failed in a way that moves on to the next address. */
  onFailover?: (dest: Destination, err: SipError) => void;
}

/** What inviteWithFailover needs: the stack's createUAC (SipStack satisfies it). */
export interface InviteClient {
  createUAC(target: string, opts: UacOptions): Promise<Dialog>;
}

/**
 * Place an outbound INVITE to `target` (the Request-URI), trying the carrier's addresses in turn.
 * Resolves with the Dialog of the first answer; rejects with the SipError that stopped it (or the
 * last attempt's, when every address failed; SipError(503) when the spec resolves to nothing).
 */
export async function inviteWithFailover(ua: InviteClient, target: string, opts: UacOptions, failover: FailoverOptions): Promise<Dialog> {
  const dests =
    Array.isArray(failover.targets) && failover.targets.length && typeof failover.targets[0] !== 'string'
      ? (failover.targets as Destination[])
      : await resolveTargets(failover.targets as TargetSpec, failover);
  if (!dests.length) throw new SipError(503, 'Service Unavailable (no address for the target)');
  let last: SipError | undefined;
  for (const [i, dest] of dests.entries()) {
    if (opts.signal?.aborted) throw new SipError(487, 'Request Terminated');
    failover.onAttempt?.(dest, i);
    try {
      return await ua.createUAC(target, { ...opts, destination: dest, responseTimeoutMs: failover.attemptTimeoutMs ?? 3000 });
    } catch (err) {
      if (!failsOver(err)) throw err;
      last = err;
      failover.onFailover?.(dest, err);
    }
  }
  throw last!;
}
