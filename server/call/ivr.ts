/**
 * The IVR stage of a call: an IvrSession (server/ivr, pure) decides; this file carries out its
 * actions on the customer's leg (prompts, queueing, survey answers, callback requests, transfers
 * to an external number, hang-up) and writes the caller's path through the flow to the call
 * detail log.
 */
import type { ResolvedPrompt } from '../ivr/flow.ts';
import { IvrSession } from '../ivr/session.ts';
import type { IvrAction } from '../ivr/actions.ts';
import type { Playback } from '../../media/index.ts';
import type { Call, IvrStage } from './call.ts';
import { bookCallback, enqueue } from './queue.ts';
import { ivrTransfer } from './transfer.ts';

export function startIvr(call: Call): void {
  call.phase = 'ivr';
  const session = new IvrSession(call.ctx.flows(), call.flow, {
    clock: call.ctx.clock,
    callerId: call.caller,
    dialled: call.dialled,
    vars: { callId: call.contactId, trunk: call.trunk },
    ...(call.ctx.lookup ? { lookup: call.ctx.lookup } : {}),
    canCallBack: (number) => canDialBack(call, number),
  });
  const stage = new CallIvr(call, session);
  call.ivr = stage;
  session.on('action', (a) => stage.act(a));
  session.on('end', (o) => {
    stage.logPath(o.outcome === 'completed');
    // A transfer out (ivrTransfer) is dialling now: the call ends when either side hangs up.
    if (o.outcome === 'transferred') return;
    if (call.phase === 'ivr' || call.phase === 'after-call') call.finish('system', `ivr-${o.reason}`);
  });
  session.start();
}

class CallIvr implements IvrStage {
  /** The prompt playing now; the token tells a superseded play() to stop. */
  private playback: { token: number; pb?: Playback } | undefined;
  private playToken = 0;
  /** IVR path steps already written to the log. */
  private stepsLogged = 0;
  private endLogged = false;

  constructor(
    private readonly call: Call,
    readonly session: IvrSession,
  ) {}

  act(a: IvrAction): void {
    const { call } = this;
    switch (a.type) {
      case 'play':
        void this.play(a.prompt, a.bargeIn);
        return;
      case 'stopPrompt':
        this.stopPrompt();
        return;
      case 'queue':
        this.logPath(false, a.queue);
        enqueue(call, a.queue, a.priority, a.skills, a.musicOnHold, a.callbackKey);
        return;
      case 'survey':
        call.ctx.cdr.contact(call.contactId, {
          type: 'survey.answer',
          ts: call.ctx.clock.now(),
          question: a.question,
          value: a.score,
          scale: a.scale,
          ...(a.name ? { name: a.name } : {}),
        });
        return;
      case 'callback':
        bookCallback(call, a.queue, a.number);
        return;
      case 'transfer':
        ivrTransfer(call, a.number);
        return;
      case 'hangup':
        call.finish(call.agentLeftFirst ? 'agent' : 'system', a.reason);
        return;
      case 'lookup':
        // The session was given a lookup function, so it never asks the call to do one.
        return;
    }
  }

  stopPrompt(): void {
    this.playback?.pb?.stop();
    this.playback = undefined;
  }

  private async play(prompt: ResolvedPrompt, bargeIn: boolean): Promise<void> {
    const { call } = this;
    const token = ++this.playToken;
    this.playback = { token };
    try {
      const file = await call.promptFile(prompt);
      const leg = call.customerMedia;
      if (!call.media || !leg || this.playback?.token !== token || call.ended) return;
      const pb = await call.media.play(leg, file, { bargeIn });
      if (this.playback?.token !== token) {
        pb.stop();
        return;
      }
      this.playback.pb = pb;
      const end = await pb.done;
      if (this.playback?.token !== token) return;
      this.playback = undefined;
      // A barge-in stop is followed by the digit itself, which the IVR handles.
      if (end === 'finished' || !bargeIn) this.session.promptFinished();
    } catch (e) {
      if (call.ended) return;
      call.log.error({ err: String(e), prompt }, 'prompt failed; continuing as if played');
      if (this.playback?.token === token) this.playback = undefined;
      this.session.promptFinished();
    }
  }

  logPath(completed: boolean, queue?: string): void {
    const { call, session } = this;
    for (; this.stepsLogged < session.path.length; this.stepsLogged++) {
      const st = session.path[this.stepsLogged]!;
      call.ctx.cdr.contact(call.contactId, {
        type: 'ivr.step',
        ts: st.at,
        node: `${st.flow}/${st.node}`,
        ...(st.input ? { input: st.input.slice(0, 200) } : {}),
      });
    }
    if (!this.endLogged) {
      this.endLogged = true;
      call.ctx.cdr.contact(call.contactId, {
        type: 'ivr.end',
        ts: call.ctx.clock.now(),
        completedInIvr: completed,
        ...(queue ? { queue } : {}),
      });
    }
  }
}

/**
 * Whether a callback to `number` could ever be dialled: an outbound trunk exists and one takes the
 * number. A full trunk (503) is only busy now, so that number still can.
 */
function canDialBack(call: Call, number: string): boolean {
  if (!call.ctx.dialOut) return false;
  try {
    call.ctx.dialCheck?.(number);
    return true;
  } catch (e) {
    return (e as { status?: unknown }).status === 503;
  }
}
