/**
 * Dialling out through an outbound trunk: the number is made E.164 and routed to a trunk
 * (server/config/trunks.ts), a slot of the trunk's call limit is taken, a plain RTP leg is made as
 * the OFFERER (PCMU/PCMA + telephone-event, or only the law the call already uses), and the INVITE
 * goes to the carrier with digest credentials (the UAC answers one 401/407), failing over across
 * its addresses or SRV records (server/sip/locate.ts inviteWithFailover). Early media (18x with
 * SDP) is applied at once so the party hears the carrier's ringback; the 2xx's SDP is the answer.
 * Outcomes: answered (the leg is up), busy (486/600/603), no-answer (our ring timeout: CANCEL;
 * or the carrier's 408/480/487), failed (anything else, or the SDP unusable). A number no trunk
 * serves, or a trunk at its limit, is a DialError before anything is sent.
 */
import { inviteWithFailover, SipError, type Dialog, type SipResponse, type SipStack, type UacOptions } from '../sip/index.ts';
import type { Logger } from '../../lib/log.ts';
import type { MediaCall, PlainRtpLeg } from '../../media/index.ts';
import { DialError, type OutboundTarget, type OutboundTrunks } from '../config/trunks.ts';
import { CallLeg } from './leg.ts';

export { DialError } from '../config/trunks.ts';

export type DialOutcome = 'answered' | 'busy' | 'no-answer' | 'failed';

/** The call was not answered: why, as an outcome, and the SIP status behind it. */
export class DialFailed extends Error {
  override name = 'DialFailed';
  constructor(
    readonly outcome: Exclude<DialOutcome, 'answered'>,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface DialContext {
  sip: SipStack;
  trunks: OutboundTrunks;
  log: Logger;
}

export interface DialRequest {
  /** As dialled: national, international, E.164 (numbering rules apply). */
  number: string;
  /** Whose call it is, for the caller-ID policy. */
  queue?: string | undefined;
  agentId?: string | undefined;
  /** The call's contact id (X-CC-Call-Id towards the carrier is not sent; logs only). */
  contactId?: string;
  /** Abort to stop dialling (CANCEL). */
  signal?: AbortSignal;
  /** 180/183 from the carrier. */
  onRinging?: (res: SipResponse) => void;
  /** 18x with SDP: media from the carrier flows now (ringback, announcements). */
  onEarlyMedia?: (leg: OutboundLeg) => void;
}

/** A leg to a number through a trunk: role 'outbound'; hanging it up frees its trunk slot. */
export class OutboundLeg extends CallLeg {
  constructor(
    readonly target: OutboundTarget,
    private readonly release: () => void,
  ) {
    super('outbound', target.e164);
  }
  override hangUp(): void {
    super.hangUp();
    this.release();
  }
  /** The carrier ended the call (its BYE): the slot is free even before the call hangs the leg up. */
  override dialogEnded(): void {
    super.dialogEnded();
    this.release();
  }
  get rtp(): PlainRtpLeg | undefined {
    return this.media as PlainRtpLeg | undefined;
  }
}

/** SIP final status → outcome. */
export function outcomeOf(status: number): Exclude<DialOutcome, 'answered'> {
  if (status === 486 || status === 600 || status === 603) return 'busy';
  if (status === 408 || status === 480 || status === 487) return 'no-answer';
  return 'failed';
}

/**
 * Route the number and take a trunk slot (throws DialError: no outbound config, bad number, no
 * trunk, trunk full). Done first and synchronously so an API can answer 4xx before any SIP.
 */
export function reserveTrunk(ctx: Pick<DialContext, 'trunks'>, number: string): { target: OutboundTarget; release: () => void } {
  const target = ctx.trunks.target(number);
  return { target, release: ctx.trunks.acquire(target) };
}

/**
 * Dial `req.number` through its trunk into the call's media. Resolves with the answered leg (its
 * dialog up, its media negotiated); rejects with DialError (before SIP) or DialFailed. The leg is
 * closed on failure; once answered the caller owns it (hangUp/close frees the trunk slot).
 */
export async function dial(
  ctx: DialContext,
  media: MediaCall,
  req: DialRequest,
  reserved: { target: OutboundTarget; release: () => void } = reserveTrunk(ctx, req.number),
): Promise<OutboundLeg> {
  const { target } = reserved;
  const leg = new OutboundLeg(target, reserved.release);
  const onAbort = () => leg.ringing.abort();
  req.signal?.addEventListener('abort', onAbort, { once: true });
  if (req.signal?.aborted) leg.ringing.abort();
  const log = ctx.log.child({ trunk: target.trunk, to: target.e164, ...(req.contactId ? { contact: req.contactId } : {}) });
  let dialog: Dialog | undefined;
  try {
    const rtp = await media.createTrunkLeg();
    leg.attachMedia(rtp);
    if (leg.ringing.signal.aborted) throw new SipError(487, 'Request Terminated');
    // One law per call end to end: once another leg fixed it, only that law is offered.
    const offer = rtp.offer(media.law ? { law: media.law } : {});
    const callerId = ctx.trunks.callerId(target.trunk, { queue: req.queue, agentId: req.agentId });
    let early = false;
    const applyEarly = (res: SipResponse): void => {
      if (res.body.length === 0 || res.contentType !== 'application/sdp') return;
      rtp.setAnswer(res.bodyText).then(
        () => {
          if (!early && leg.state === 'ringing') {
            early = true;
            req.onEarlyMedia?.(leg);
          }
        },
        (e: unknown) => log.warn({ err: String(e) }, 'early media SDP not usable'),
      );
    };
    const from = `<sip:${callerId}@${target.domain}>`;
    dialog = await placeInvite(ctx, target, {
      localSdp: offer,
      from,
      to: `<sip:${target.user}@${target.domain}>`,
      headers: { 'P-Asserted-Identity': from },
      ...(target.auth ? { auth: target.auth } : {}),
      timeoutMs: target.ringTimeoutMs,
      signal: leg.ringing.signal,
      onProvisional: (res) => {
        req.onRinging?.(res);
        applyEarly(res);
      },
    });
    if (leg.state !== 'ringing') throw new SipError(487, 'Request Terminated');
    await rtp.setAnswer(dialog.remoteSdp ?? '');
    leg.answered(dialog);
    dialog.on('destroy', () => leg.dialogEnded());
    log.info({ callerId }, 'outbound call answered');
    return leg;
  } catch (e) {
    if (dialog && leg.state !== 'up') void dialog.destroy().catch(() => undefined);
    leg.close();
    const status = e instanceof SipError ? e.status : 500;
    // Our own ring timeout arrives as 408 "No Answer"; a CANCEL by the caller as 487.
    const outcome = e instanceof SipError ? outcomeOf(status) : 'failed';
    log.info({ status, outcome, err: e instanceof SipError ? e.reason : String(e) }, 'outbound call not answered');
    throw new DialFailed(outcome, status, e instanceof Error ? e.message : String(e));
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The INVITE through locate.ts's failover (RFC 3263): the trunk's addresses in the order given, or
 * its domain's SRV records by priority and weight. The next address is tried when one is
 * unreachable (transport error, 503, no response at all within 3 s, Timer B); any other answer
 * from a carrier (busy, no answer, 4xx) is final. The Request-URI names the first address (or
 * the domain).
 */
async function placeInvite(ctx: DialContext, target: OutboundTarget, opts: UacOptions): Promise<Dialog> {
  const first = target.uris[0];
  if (!first) throw new DialError('no-trunk', 'no carrier address');
  // sip:user@host:port;transport=tcp → sip:host:port;transport=tcp (a domain alone: SRV).
  const targets = target.uris.map((u) => u.replace(/^(sips?:)[^@]*@/i, '$1'));
  return inviteWithFailover(ctx.sip, first, opts, {
    targets,
    onFailover: (dest, e) =>
      ctx.log.warn(
        { trunk: target.trunk, dest: `${dest.address}:${dest.port}`, status: e.status },
        'carrier address unreachable; trying the next',
      ),
  });
}
