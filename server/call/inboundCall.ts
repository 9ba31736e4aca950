/**
 * One customer call from a carrier trunk: answer → IVR → queue (music on hold) → offer to an agent
 * (browser over WebRTC, or desk phone over plain RTP) → bridged and recorded → either side hangs
 * up → the agent to wrap-up. The ACD decides who; the IVR decides what; this object only carries
 * out their decisions on SIP and media and writes what happened to the call detail log.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Acd } from '../acd/acd.ts';
import type { SkillRequirement } from '../acd/config.ts';
import type { Clock } from '../../lib/clock.ts';
import type { FlowSet, ResolvedPrompt } from '../ivr/flow.ts';
import { IvrSession, type IvrAction, type LookupFn, type QueueExitReason } from '../ivr/session.ts';
import type { TtsProvider } from '../ivr/tts.ts';
import { log as rootLog } from '../../lib/log.ts';
import type { Dialog } from '../sip/dialog.ts';
import type { SipRequest } from '../sip/message.ts';
import { SipError, type SipServerResponse, type SipStack } from '../sip/stack.ts';
import { parseNameAddr, parseUri } from '../sip/uri.ts';
import { CodecMismatch, SdpError, parseDtmfInfo, type MediaCall, type MediaPlane, type Playback, type PlainRtpLeg, type Recording, type WebRtcLeg } from '../../media/index.ts';
import type { CallDetailLog } from './cdr.ts';

const log = rootLog.child({ mod: 'call' });

export interface CallContext {
  clock: Clock;
  sip: SipStack;
  media: MediaPlane;
  acd: Acd;
  cdr: CallDetailLog;
  tts: TtsProvider;
  /** The flows in force now; a call keeps the version it started with. */
  flows: () => FlowSet;
  lookup?: LookupFn;
  recordingsDir: string;
  /** Domain for the From/To of INVITEs to agents. */
  sipDomain: string;
  /** The call is over (the ACD may still hold its wrap-up). */
  onEnd: (call: InboundCall) => void;
}

/** A leg towards an agent: a browser (WebRTC) or a desk phone (plain RTP). */
type AgentLeg = PlainRtpLeg | WebRtcLeg;

type Phase = 'setup' | 'ivr' | 'queued' | 'connected' | 'after-call' | 'ended';

interface Offer {
  abort: AbortController;
  leg?: AgentLeg;
}

export class InboundCall {
  phase: Phase = 'setup';
  readonly caller: string;
  readonly dialled: string;
  readonly arrivedAt: number;
  queue: string | undefined;
  agentId: string | undefined;
  private trunkDialog: Dialog | undefined;
  private media: MediaCall | undefined;
  private trunkLeg: PlainRtpLeg | undefined;
  private ivr: IvrSession | undefined;
  private playback: { token: number; pb?: Playback } | undefined;
  private playToken = 0;
  /** What plays while queued: music on hold, or a position announcement interrupting it. */
  private moh: Playback | undefined;
  private mohPrompt: ResolvedPrompt | undefined;
  private announcing = false;
  private readonly offers = new Map<string, Offer>();
  private agent: { id: string; dialog: Dialog; leg: AgentLeg } | undefined;
  /** The agent hung up first; whatever ends the call afterwards is put down to them. */
  private agentLeftFirst = false;
  /** call.end is written once: when the talk ends, or when the call ends without one. */
  private endLogged = false;
  private recording: Recording | undefined;
  private recordingId: string | undefined;
  /** IVR path steps already written to the log. */
  private stepsLogged = 0;
  private ivrLogged = false;
  private readonly clog: typeof log;

  constructor(
    private readonly ctx: CallContext,
    readonly contactId: string,
    private readonly req: SipRequest,
    private readonly res: SipServerResponse,
    readonly trunk: string,
    readonly flow: string,
  ) {
    this.clog = log.child({ contact: contactId, callId: req.callId });
    this.caller = userOf(req.get('from')) ?? 'anonymous';
    this.dialled = parseUri(req.uri)?.user ?? '';
    this.arrivedAt = ctx.clock.now();
  }

  /** Re-read after every await: the caller may have hung up meanwhile. */
  get ended(): boolean {
    return this.phase === 'ended';
  }


  /** Answer and start the IVR. Never throws: failures end the call with a cause. */
  async start(): Promise<void> {
    const { ctx } = this;
    ctx.cdr.contact(this.contactId, {
      type: 'contact.arrived',
      ts: this.arrivedAt,
      initiation: 'inbound',
      caller: this.caller,
      dialled: this.dialled,
      trunk: this.trunk,
    });
    this.res.once('cancel', () => this.finish('caller', 'cancelled'));
    let answer: string;
    try {
      if (this.req.contentType !== 'application/sdp' || this.req.body.length === 0) {
        // Delayed offer (INVITE without SDP) would need our offer in the 200 and the answer in
        // the ACK; carriers we target send an offer, so refuse clearly rather than half-work.
        this.reject(488, 'Not Acceptable Here - SDP offer required');
        return;
      }
      this.media = await ctx.media.createCall(this.contactId);
      this.media.on('lost', (reason) => this.finish('system', reason));
      this.media.on('dtmf', (digit) => this.ivr?.digit(digit));
      // A browser that vanished (tab closed, network gone) without a BYE: its ICE/DTLS fails.
      this.media.on('legFailed', (leg, reason) => {
        if (this.agent?.leg !== leg) return;
        void this.agent.dialog.destroy().catch(() => undefined);
        this.agentHungUp(`agent-media-${reason}`);
      });
      this.trunkLeg = await this.media.createTrunkLeg();
      answer = await this.trunkLeg.answer(this.req.bodyText);
    } catch (e) {
      if (this.ended) return; // the caller CANCELled while media was being set up
      if (e instanceof CodecMismatch || e instanceof SdpError) this.reject(488, `Not Acceptable Here - ${e.message}`);
      else {
        this.clog.error({ err: String(e) }, 'media setup failed');
        this.reject(503, 'Service Unavailable - media');
      }
      return;
    }
    if (this.ended) return;
    let dialog: Dialog;
    try {
      dialog = await ctx.sip.createUAS(this.req, this.res, { localSdp: answer });
    } catch (e) {
      this.finish('caller', e instanceof SipError ? `sip-${e.status}` : 'answer-failed');
      return;
    }
    if (this.ended) {
      void dialog.destroy().catch(() => undefined);
      return;
    }
    this.trunkDialog = dialog;
    dialog.on('destroy', () => this.callerHungUp());
    dialog.on('info', (req: SipRequest, res: SipServerResponse) => {
      const d = parseDtmfInfo(req.contentType ?? '', req.bodyText);
      res.send(d || req.body.length === 0 ? 200 : 415);
      if (d) this.media?.injectDtmf(d, 'info');
    });
    dialog.on('modify', (req: SipRequest, res: SipServerResponse) => void this.reinvite(req, res));
    this.startIvr();
  }

  private reject(status: number, reason: string): void {
    this.res.send(status, { reason });
    this.finish('system', `sip-${status}`);
  }

  /** Hold/resume or a new address from the carrier: answer from the same leg. */
  private async reinvite(req: SipRequest, res: SipServerResponse): Promise<void> {
    try {
      const sdp = req.body.length ? await this.trunkLeg!.update(req.bodyText) : (this.trunkDialog?.localSdp ?? '');
      res.send(200, { body: sdp, contentType: 'application/sdp' });
    } catch (e) {
      res.send(488, { reason: `Not Acceptable Here - ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  private startIvr(): void {
    this.phase = 'ivr';
    const s = new IvrSession(this.ctx.flows(), this.flow, {
      clock: this.ctx.clock,
      callerId: this.caller,
      dialled: this.dialled,
      vars: { callId: this.contactId, trunk: this.trunk },
      ...(this.ctx.lookup ? { lookup: this.ctx.lookup } : {}),
    });
    this.ivr = s;
    s.on('action', (a) => this.act(a));
    s.on('end', (o) => {
      this.logIvr(o.outcome === 'completed');
      if (this.phase === 'ivr' || this.phase === 'after-call') this.finish('system', `ivr-${o.reason}`);
    });
    s.start();
  }

  private act(a: IvrAction): void {
    switch (a.type) {
      case 'play':
        void this.play(a.prompt, a.bargeIn);
        return;
      case 'stopPrompt':
        this.playback?.pb?.stop();
        this.playback = undefined;
        return;
      case 'queue':
        this.enqueue(a.queue, a.priority, a.skills, a.musicOnHold);
        return;
      case 'survey':
        this.ctx.cdr.contact(this.contactId, { type: 'survey.answer', ts: this.ctx.clock.now(), question: 'csat', value: a.score });
        return;
      case 'callback': {
        const r = this.ctx.acd.requestCallback({ callId: this.contactId, number: a.number });
        if (!r.ok) this.clog.warn({ error: r.error }, 'callback refused');
        return;
      }
      case 'transfer':
        // Transfer out needs an outbound trunk; none is configured yet. End clearly.
        this.clog.warn({ number: a.number }, 'transfer to an external number is not supported yet');
        this.finish('system', 'transfer-unsupported');
        return;
      case 'hangup':
        this.finish(this.agentLeftFirst ? 'agent' : 'system', a.reason);
        return;
      case 'lookup':
        // The session was given a lookup function, so it never asks the call to do one.
        return;
    }
  }

  private async promptFile(p: ResolvedPrompt): Promise<string> {
    return p.kind === 'file' ? p.file : this.ctx.tts.render(p.text, p.lang);
  }

  private async play(prompt: ResolvedPrompt, bargeIn: boolean): Promise<void> {
    const token = ++this.playToken;
    this.playback = { token };
    try {
      const file = await this.promptFile(prompt);
      if (!this.media || !this.trunkLeg || this.playback?.token !== token || this.phase === 'ended') return;
      const pb = await this.media.play(this.trunkLeg, file, { bargeIn });
      if (this.playback?.token !== token) {
        pb.stop();
        return;
      }
      this.playback.pb = pb;
      const end = await pb.done;
      if (this.playback?.token !== token) return;
      this.playback = undefined;
      // A barge-in stop is followed by the digit itself, which the IVR handles.
      if (end === 'finished' || !bargeIn) this.ivr?.promptFinished();
    } catch (e) {
      if (this.phase === 'ended') return;
      this.clog.error({ err: String(e), prompt }, 'prompt failed; continuing as if played');
      if (this.playback?.token === token) this.playback = undefined;
      this.ivr?.promptFinished();
    }
  }

  private enqueue(queue: string, priority: number, skills: SkillRequirement[] | undefined, moh: ResolvedPrompt | undefined): void {
    this.queue = queue;
    this.logIvr(false, queue);
    // Before enqueue: with an agent free, the ACD offers the call from inside enqueue().
    this.phase = 'queued';
    const r = this.ctx.acd.enqueue({
      callId: this.contactId,
      queue,
      priority,
      callerId: this.caller,
      arrivedAt: this.arrivedAt,
      ...(skills ? { skills } : {}),
    });
    if (!r.ok) {
      this.clog.info({ queue, reason: r.reason }, 'not queued');
      this.phase = 'ivr';
      this.ivr?.queueExit(queueExitReason(r.reason));
      return;
    }
    this.mohPrompt = moh;
    if (moh) void this.startMoh(moh);
  }

  private async startMoh(prompt: ResolvedPrompt): Promise<void> {
    try {
      const file = await this.promptFile(prompt);
      if (this.phase !== 'queued' || !this.media || !this.trunkLeg) return;
      const pb = await this.media.play(this.trunkLeg, file, { loop: true });
      if (this.phase !== 'queued') pb.stop();
      else this.moh = pb;
    } catch (e) {
      this.clog.warn({ err: String(e) }, 'music on hold failed');
    }
  }

  /**
   * Tell a waiting caller their place (the queue's announce.period): the announcement interrupts
   * the music, which starts again after it.
   */
  async announce(position: number, ewtSeconds: number | null): Promise<void> {
    if (this.phase !== 'queued' || this.announcing || !this.media || !this.trunkLeg) return;
    this.announcing = true;
    const minutes = ewtSeconds === null ? undefined : Math.max(1, Math.round(ewtSeconds / 60));
    const text =
      `You are number ${position} in the queue.` +
      (minutes === undefined ? '' : ` Your expected wait is about ${minutes} minute${minutes === 1 ? '' : 's'}.`);
    try {
      const file = await this.ctx.tts.render(text, 'en');
      if (this.phase !== 'queued') return;
      this.stopMoh();
      const pb = await this.media.play(this.trunkLeg, file);
      if (this.phase !== 'queued') return void pb.stop();
      this.moh = pb;
      await pb.done;
      if (this.phase === 'queued' && this.moh === pb) {
        this.moh = undefined;
        if (this.mohPrompt) await this.startMoh(this.mohPrompt);
      }
    } catch (e) {
      this.clog.warn({ err: String(e) }, 'position announcement failed');
      if (this.phase === 'queued' && !this.moh && this.mohPrompt) void this.startMoh(this.mohPrompt);
    } finally {
      this.announcing = false;
    }
  }

  private stopMoh(): void {
    this.moh?.stop();
    this.moh = undefined;
  }

  /** The ACD left the call's queue without an agent (timeout, full, closed…). */
  queueExited(reason: string): void {
    if (this.phase !== 'queued') return;
    this.stopMoh();
    for (const id of [...this.offers.keys()]) this.cancelOffer(id);
    this.phase = 'ivr';
    this.ivr?.queueExit(queueExitReason(reason));
  }

  /** The ACD offers the call to an agent: ring their registered softphone or desk phone. */
  async offer(agentId: string, waitedMs: number): Promise<void> {
    const { ctx } = this;
    if (this.phase !== 'queued' || !this.media || !this.trunkLeg) return;
    const entry: Offer = { abort: new AbortController() };
    this.offers.set(agentId, entry);
    let dialog: Dialog | undefined;
    try {
      const bindings = await ctx.sip.lookup(agentId);
      const b = bindings.sort((x, y) => y.registeredAt - x.registeredAt)[0];
      if (!b) throw new SipError(480, 'Temporarily Unavailable - agent not registered');
      const webrtc = b.source.transport === 'ws' || b.source.transport === 'wss';
      const leg = webrtc ? await this.media.createWebRtcLeg() : await this.media.createRtpLeg();
      entry.leg = leg;
      if (entry.abort.signal.aborted) throw new SipError(487, 'Request Terminated');
      const law = this.trunkLeg.law ?? this.media.law;
      const sdp = leg.offer(law ? { law } : {});
      const path = this.ivr?.path.map((s) => s.label ?? s.node) ?? [];
      dialog = await ctx.sip.createUAC(b.contact, {
        destination: ctx.sip.bindingDestination(b),
        localSdp: sdp,
        from: `"${this.caller.replace(/"/g, '')}" <sip:${encodeURIComponent(this.caller)}@${ctx.sipDomain}>`,
        to: `<sip:${agentId}@${ctx.sipDomain}>`,
        headers: {
          'X-CC-Call-Id': this.contactId,
          'X-CC-Caller': encodeURIComponent(this.caller),
          'X-CC-Queue': this.queue ?? '',
          'X-CC-Waited': String(Math.round(waitedMs / 1000)),
          'X-CC-Ivr-Path': encodeURIComponent(path.join(',')),
        },
        signal: entry.abort.signal,
      });
      if (this.offers.get(agentId) !== entry || this.phase !== 'queued') {
        void dialog.destroy().catch(() => undefined);
        leg.close();
        return;
      }
      await leg.setAnswer(dialog.remoteSdp ?? '');
      this.offers.delete(agentId);
      const r = ctx.acd.answered(this.contactId, agentId);
      if (!r.ok) {
        // The ACD moved on (ring-no-answer fired, or ring-all gave the call to another agent).
        this.clog.info({ agentId, error: r.error }, 'answer came too late');
        void dialog.destroy().catch(() => undefined);
        leg.close();
        return;
      }
      await this.connect(agentId, dialog, leg);
    } catch (e) {
      if (this.offers.get(agentId) === entry) this.offers.delete(agentId);
      // Answered, but its SDP could not be used: hang the agent up rather than leave them on air.
      if (dialog && this.agent?.dialog !== dialog) void dialog.destroy().catch(() => undefined);
      entry.leg?.close();
      if (entry.abort.signal.aborted || this.phase !== 'queued') return;
      const status = e instanceof SipError ? e.status : 500;
      this.clog.info({ agentId, status, err: e instanceof SipError ? undefined : String(e) }, 'offer failed');
      ctx.acd.rejected(this.contactId, agentId);
    }
  }

  /** Ring-no-answer, ring-all won elsewhere, or the caller left: stop ringing this agent. */
  cancelOffer(agentId: string): void {
    const o = this.offers.get(agentId);
    if (!o) return;
    this.offers.delete(agentId);
    o.abort.abort();
    o.leg?.close();
  }

  private async connect(agentId: string, dialog: Dialog, leg: AgentLeg): Promise<void> {
    this.phase = 'connected';
    this.agentId = agentId;
    this.agent = { id: agentId, dialog, leg };
    this.stopMoh();
    for (const id of [...this.offers.keys()]) this.cancelOffer(id);
    dialog.on('destroy', () => this.agentHungUp());
    this.ivr?.connected(agentId);
    // The agent may have hung up while we were reading their answer.
    if (dialog.state === 'terminated') return this.agentHungUp();
    try {
      await this.media!.bridge(this.trunkLeg!, leg);
      await this.startRecording();
    } catch (e) {
      this.clog.error({ err: String(e) }, 'bridge failed');
      this.finish('system', 'bridge-failed');
    }
  }

  private async startRecording(): Promise<void> {
    if (!this.media || this.phase !== 'connected') return;
    const day = new Date(this.ctx.clock.now()).toISOString().slice(0, 10);
    const dir = join(this.ctx.recordingsDir, day);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${this.contactId}.wav`);
    this.recording = await this.media.record(path);
    this.recordingId = this.contactId;
    this.ctx.cdr.contact(this.contactId, { type: 'recording.started', ts: this.ctx.clock.now(), recordingId: this.recordingId, path });
  }

  private async stopRecording(): Promise<void> {
    const rec = this.recording;
    this.recording = undefined;
    if (!rec || !this.recordingId) return;
    try {
      await rec.stop();
    } catch (e) {
      this.clog.error({ err: String(e) }, 'recording stop failed');
    }
    this.ctx.cdr.contact(this.contactId, { type: 'recording.stopped', ts: this.ctx.clock.now(), recordingId: this.recordingId });
  }

  private callerHungUp(): void {
    if (this.phase === 'ended') return;
    this.trunkDialog = undefined; // already terminated by the caller's BYE
    this.finish('caller', 'caller-bye');
  }

  private agentHungUp(cause = 'agent-bye'): void {
    if (this.phase !== 'connected' || !this.agent) return;
    this.agent = undefined;
    this.agentLeftFirst = true;
    // The conversation is over; a post-call survey that may follow is not talk time.
    this.logEnd('agent', cause);
    this.endTalk();
    void this.media?.unbridge().catch(() => undefined);
    this.phase = 'after-call';
    // The IVR may go on (a post-call survey); if it has nothing more it asks us to hang up.
    this.ivr?.bridgeEnded();
    if (this.phase === 'after-call' && (this.ivr?.ended ?? true)) this.finish('agent', 'agent-bye');
  }

  /** Talk is over: the ACD starts the agent's wrap-up. */
  private endTalk(): void {
    void this.stopRecording();
    const r = this.ctx.acd.callEnded(this.contactId);
    if (!r.ok) this.clog.warn({ error: r.error }, 'acd callEnded refused');
  }

  /** End everything that is still up, once, and write call.end. */
  finish(endedBy: 'caller' | 'agent' | 'system', cause: string): void {
    if (this.phase === 'ended') return;
    const was = this.phase;
    this.phase = 'ended';
    const { ctx } = this;
    this.logEnd(endedBy, cause);
    this.playback?.pb?.stop();
    this.stopMoh();
    for (const id of [...this.offers.keys()]) this.cancelOffer(id);
    if (was === 'queued') ctx.acd.abandon(this.contactId);
    if (this.agent) {
      void this.agent.dialog.destroy().catch(() => undefined);
      this.agent = undefined;
      this.endTalk();
    }
    if (this.ivr && !this.ivr.ended) this.ivr.hangup();
    this.logIvr(false);
    if (this.trunkDialog) {
      void this.trunkDialog.destroy().catch(() => undefined);
      this.trunkDialog = undefined;
    } else if (!this.res.finalSent && !this.res.cancelled) {
      this.res.send(endedBy === 'system' ? 500 : 487);
    }
    void this.stopRecording().finally(() => this.media?.close());
    if (!this.agentId) ctx.cdr.closeContact(this.contactId);
    this.clog.info({ endedBy, cause, queue: this.queue, agent: this.agentId }, 'call ended');
    ctx.onEnd(this);
  }

  private logEnd(endedBy: 'caller' | 'agent' | 'system', cause: string): void {
    if (this.endLogged) return;
    this.endLogged = true;
    this.ctx.cdr.contact(this.contactId, { type: 'call.end', ts: this.ctx.clock.now(), endedBy, cause });
  }

  /** Write the IVR steps not yet logged, and ivr.end the first time the caller leaves the IVR. */
  private logIvr(completed: boolean, queue?: string): void {
    const s = this.ivr;
    if (!s) return;
    for (; this.stepsLogged < s.path.length; this.stepsLogged++) {
      const st = s.path[this.stepsLogged]!;
      this.ctx.cdr.contact(this.contactId, {
        type: 'ivr.step',
        ts: st.at,
        node: `${st.flow}/${st.node}`,
        ...(st.input ? { input: st.input.slice(0, 200) } : {}),
      });
    }
    if (!this.ivrLogged) {
      this.ivrLogged = true;
      this.ctx.cdr.contact(this.contactId, {
        type: 'ivr.end',
        ts: this.ctx.clock.now(),
        completedInIvr: completed,
        ...(queue ? { queue } : {}),
      });
    }
  }

  /** Live view for the supervisor API and logs. */
  view(): { contactId: string; caller: string; dialled: string; phase: Phase; queue?: string; agent?: string; since: number } {
    return {
      contactId: this.contactId,
      caller: this.caller,
      dialled: this.dialled,
      phase: this.phase,
      since: this.arrivedAt,
      ...(this.queue ? { queue: this.queue } : {}),
      ...(this.agentId ? { agent: this.agentId } : {}),
    };
  }
}

function userOf(nameAddr: string | undefined): string | undefined {
  if (!nameAddr) return undefined;
  const na = parseNameAddr(nameAddr);
  return na?.uri.user ?? undefined;
}

function queueExitReason(r: string): QueueExitReason {
  return r === 'full' ? 'full' : r === 'timeout' ? 'timeout' : 'closed';
}
