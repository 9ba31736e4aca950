/**
 * The agents' pre-call echo test, the telecom way: a service extension (`sip:echo@<realm>` by
 * default, server.echoTest in centre.yaml) that the centre answers itself and that sends the
 * caller's own audio back. An agent working from home dials it from the desktop ("Test audio") and
 * hears themselves: microphone, speaker and the network path are proven before the first customer.
 *
 * It is a call with one leg, and the audio goes the way a customer's does: the agent's leg (WebRTC
 * from a browser, plain RTP from a desk phone) into the call's mediasoup router, out to a plain RTP
 * leg on the call's RTP thread whose far end is its own socket, back in through that relay and to
 * the agent. So the test exercises the browser's ICE/DTLS, the worker, the relay thread and the
 * G.711 law negotiation, not just a shortcut inside mediasoup.
 *
 * Only agents who are logged in may use it (digest against their SIP credentials, then the ACD's
 * view of them); it is not a contact: nothing goes to the event log or the recordings, and it is
 * hung up after maxSeconds. While it runs the agent is busy to the ACD (EchoTestContext.busy/free:
 * the centre's not-ready 'internal-call', as on a click-to-dial call), so a Ready agent testing
 * their headset is not offered a queue call meanwhile, and is Ready again after it.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../lib/clock.ts';
import { log as rootLog } from '../../lib/log.ts';
import type { Acd } from '../acd/acd.ts';
import { parseUri, SipError, type Dialog, type SipRequest, type SipServerResponse, type SipStack } from '../sip/index.ts';
import type { MediaCall, MediaPlane } from '../../media/index.ts';

const log = rootLog.child({ mod: 'echo' });

export interface EchoTestSettings {
  enabled: boolean;
  extension: string;
  maxSeconds: number;
}

export interface EchoTestContext {
  clock: Clock;
  sip: Pick<SipStack, 'authenticate' | 'createUAS'>;
  media: Pick<MediaPlane, 'createCall'>;
  acd: Pick<Acd, 'agentView'>;
  /** The settings in force (the config watcher's current ones). */
  settings(): EchoTestSettings;
  /** Where the loop leg's relay sends to reach itself: the media listen address, or loopback for a wildcard. */
  loopAddress: string;
  /** The agent is busy to the ACD from the answer until the test ends (counted: one free per busy). */
  busy?(agentId: string): void;
  free?(agentId: string): void;
}

/** Is this INVITE for the echo extension? (Checked before trunk admission.) */
export function isEchoTest(settings: EchoTestSettings, req: SipRequest): boolean {
  return settings.enabled && parseUri(req.uri)?.user?.toLowerCase() === settings.extension.toLowerCase();
}

/** Echo tests in progress, by agent (one at a time each). */
const running = new Map<string, { hangUp(): void }>();

/** Answer an echo-test INVITE. Never throws: a failure answers the INVITE with a status that says why. */
export async function answerEchoTest(ctx: EchoTestContext, req: SipRequest, res: SipServerResponse): Promise<void> {
  const agentId = await ctx.sip.authenticate(req, res, true);
  if (agentId === undefined) return; // challenged (407) or refused (403) already
  const view = ctx.acd.agentView(agentId);
  if (!view || view.state === 'logged-out') return void res.send(403, { reason: 'Forbidden - log in to the desktop first' });
  if (view.state === 'on-call' || view.state === 'offered') return void res.send(486, { reason: 'Busy Here - on a call' });
  // Busy before anything awaits (no offer can slip in), and before a test it replaces is freed.
  ctx.busy?.(agentId);
  let freed = false;
  const free = (): void => {
    if (freed) return;
    freed = true;
    ctx.free?.(agentId);
  };
  running.get(agentId)?.hangUp();
  const callId = `echo-${randomUUID()}`;
  let media: MediaCall | undefined;
  let sdp: string;
  try {
    media = await ctx.media.createCall(callId);
    const webrtc = /^a=fingerprint:/m.test(req.bodyText);
    const leg = webrtc ? await media.createWebRtcLeg() : await media.createRtpLeg();
    sdp = await leg.answer(req.bodyText);
    // The loop: a plain RTP leg whose far end is its own socket, on the call's RTP thread.
    const loop = await media.createRtpLeg();
    const offer = loop.offer({ ...(media.law ? { law: media.law } : {}) }).replace(/^c=IN IP4 .*$/m, `c=IN IP4 ${ctx.loopAddress}`);
    await loop.answer(offer);
    await media.bridge(leg, loop);
  } catch (e) {
    media?.close();
    free();
    log.warn({ agentId, err: String(e) }, 'echo test media setup failed');
    return void res.send(488, { reason: 'Not Acceptable Here - media' });
  }
  const m = media;
  res.once('cancel', () => {
    m.close();
    free();
  });
  let dialog: Dialog;
  try {
    dialog = await ctx.sip.createUAS(req, res, { localSdp: sdp });
  } catch (e) {
    m.close();
    free();
    log.info({ agentId, err: e instanceof SipError ? e.status : String(e) }, 'echo test not established');
    return;
  }
  if (m.closed) {
    free();
    return void dialog.destroy().catch(() => undefined);
  }
  const started = ctx.clock.now();
  const limit = ctx.clock.setTimeout(() => hangUp('time-limit'), ctx.settings().maxSeconds * 1000);
  const hangUp = (why: string): void => {
    if (running.get(agentId)?.hangUp === entry.hangUp) running.delete(agentId);
    ctx.clock.clearTimeout(limit);
    if (why !== 'bye') void dialog.destroy().catch(() => undefined);
    m.close();
    free();
    log.info({ agentId, why, ms: ctx.clock.now() - started }, 'echo test ended');
  };
  const entry = { hangUp: () => hangUp('replaced') };
  running.set(agentId, entry);
  dialog.on('destroy', () => hangUp('bye'));
  // A re-INVITE (ICE restart, hold) keeps the loop: answer with the current SDP (the stack's default).
  m.on('lost', () => hangUp('media-lost'));
  m.on('legFailed', () => hangUp('media-failed'));
  log.info({ agentId, webrtc: /^a=fingerprint:/m.test(req.bodyText) }, 'echo test started');
}
