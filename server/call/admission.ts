/**
 * Admission: may this INVITE become a call, and which IVR flow takes it? Four named steps, in
 * order; the first that says no answers the INVITE and nothing else happens.
 *
 *   1. trunkBySource    the source address picks the trunk (none: 403)
 *   2. routeByDialled   the dialled number picks the route and flow (none: 404)
 *   3. trunkDigest      a trunk with credentials challenges (407) until they match (else 403)
 *   4. callLimit        the trunk's maxCalls (503)
 *
 * The dialled number is read from the Request-URI here, once; the call takes it from the result.
 */
import type { CentreConfig } from '../config/load.ts';
import type { TrunkTable } from '../config/trunks.ts';
import { parseNameAddr, parseUri, type SipRequest, type SipServerResponse, type SipStack } from '../sip/index.ts';

export interface Admitted {
  trunk: string;
  flow: string;
  /** The Request-URI's user part, %-decoded. */
  dialled: string;
  /** The From user, or 'anonymous'. */
  caller: string;
}

export interface AdmissionContext {
  trunks: TrunkTable;
  config: CentreConfig;
  sip: SipStack;
  /** Calls in progress on a trunk now. */
  activeCalls: (trunk: string) => number;
}

/** A refusal: the status and reason phrase the INVITE is answered with. */
interface Refusal {
  status: number;
  reason: string;
  /** Logged as a warning (a source nobody configured is worth an operator's look). */
  warn?: boolean;
}

type Step<In, Out> = (
  ctx: AdmissionContext,
  req: SipRequest,
  res: SipServerResponse,
  input: In,
) => Promise<Out | Refusal | undefined> | Out | Refusal;

function isRefusal(x: unknown): x is Refusal {
  return typeof x === 'object' && x !== null && 'status' in x && 'reason' in x;
}

const trunkBySource: Step<void, { source: string }> = (ctx, req) => {
  const source = req.source?.address ?? '';
  if (!ctx.trunks.trunkFor(source)) return { status: 403, reason: 'Forbidden - not a trunk', warn: true };
  return { source };
};

const routeByDialled: Step<{ source: string }, Omit<Admitted, 'caller'>> = (ctx, req, _res, { source }) => {
  // The parser has refused a Request-URI that does not parse (a malformed escape is a 400
  // there), so the user part here is already unescaped.
  const dialled = parseUri(req.uri)?.user ?? '';
  const route = ctx.trunks.route(source, dialled);
  if (!route) return { status: 404, reason: 'Not Found - no route for the dialled number' };
  return { trunk: route.trunk, flow: route.flow, dialled };
};

/**
 * Source address and digest: the stack sends the 407 challenge and answers undefined (nothing
 * more to do for this INVITE) until the carrier presents this trunk's own credentials.
 */
const trunkDigest: Step<{ trunk: string }, true> = async (ctx, req, res, { trunk }) => {
  const t = ctx.config.trunks[trunk];
  if (t?.username === undefined) return true;
  const who = await ctx.sip.authenticate(req, res, true);
  if (who === undefined) return undefined;
  if (who !== t.username) return { status: 403, reason: "Forbidden - not this trunk's credentials" };
  return true;
};

const callLimit: Step<{ trunk: string }, true> = (ctx, _req, _res, { trunk }) => {
  const max = ctx.config.trunks[trunk]?.maxCalls;
  if (max !== undefined && ctx.activeCalls(trunk) >= max) return { status: 503, reason: 'Service Unavailable - trunk at its call limit' };
  return true;
};

/**
 * Run the steps. Returns what the call needs, or undefined when the INVITE has been answered
 * already (refused, or challenged).
 */
export async function admit(
  ctx: AdmissionContext,
  req: SipRequest,
  res: SipServerResponse,
  log: { warn: (o: object, m: string) => void },
): Promise<Admitted | undefined> {
  const refuse = (r: Refusal): undefined => {
    if (r.warn) log.warn({ source: req.source?.address, callId: req.callId, status: r.status }, r.reason);
    res.send(r.status, { reason: r.reason });
    return undefined;
  };
  const src = await trunkBySource(ctx, req, res, undefined);
  if (!src || isRefusal(src)) return src && refuse(src);
  const route = await routeByDialled(ctx, req, res, src);
  if (!route || isRefusal(route)) return route && refuse(route);
  for (const step of [trunkDigest, callLimit]) {
    const ok = await step(ctx, req, res, route);
    if (!ok || isRefusal(ok)) return ok && refuse(ok);
  }
  return { ...route, caller: callerOf(req) };
}

function callerOf(req: SipRequest): string {
  const from = req.get('from');
  return (from ? parseNameAddr(from)?.uri.user : undefined) ?? 'anonymous';
}
