/**
 * The agent answered: the customer's and the agent's legs are bridged and the conversation is
 * recorded (stereo WAV: caller left, agent right). When the agent hangs up first the talk ends
 * and the caller may go on in the IVR (a post-call survey): agentHangUp.ts.
 */
import { mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SipRequest, SipServerResponse } from '../sip/index.ts';
import type { Call } from './call.ts';
import { talkOf } from './conference.ts';
import { leaveConference } from './consult.ts';
import { reinvite } from './hold.ts';
import { agentHungUp } from './agentHangUp.ts';
import { watchAgentLeg } from './legRecovery.ts';
import { referred } from './transfer.ts';
import type { CallLeg } from './leg.ts';

export async function connect(call: Call, leg: CallLeg): Promise<void> {
  call.phase = 'connected';
  call.agentId = leg.party;
  call.stopWaiting();
  call.cancelOffers();
  leg.dialog?.on('destroy', () => {
    leg.dialogEnded();
    // An agent who hangs up their phone in a three-way conference leaves the other two talking.
    if (talkOf(call).consult?.phase === 'conference') return void leaveConference(call).catch(() => agentHungUp(call));
    agentHungUp(call);
  });
  leg.dialog?.on('modify', (req: SipRequest, res: SipServerResponse) => void reinvite(call, leg, req, res));
  // A desk phone's blind transfer (RFC 3515 REFER) sends the caller on (transfer.ts).
  leg.dialog?.on('refer', (req: SipRequest, res: SipServerResponse) => referred(call, leg, req, res));
  // A browser agent's lost connection is waited for a while (legRecovery.ts).
  watchAgentLeg(call, leg);
  call.ivr?.session.connected(leg.party);
  // The agent may have hung up while we were reading their answer.
  if (leg.dialog?.state === 'terminated') return agentHungUp(call);
  try {
    await call.media!.bridge(call.customerMedia!, leg.media!);
    await startRecording(call);
  } catch (e) {
    call.log.error({ err: String(e) }, 'bridge failed');
    call.finish('system', 'bridge-failed');
  }
}

async function startRecording(call: Call): Promise<void> {
  const { ctx } = call;
  if (!call.media || call.phase !== 'connected') return;
  const day = new Date(ctx.clock.now()).toISOString().slice(0, 10);
  const dir = join(ctx.recordingsDir, day);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${call.contactId}.wav`);
  const rec = await call.media.record(path);
  const recordingId = call.contactId;
  // The contact it started on, even if the call goes on as another (an attended transfer).
  const contactId = call.contactId;
  ctx.cdr.contact(contactId, { type: 'recording.started', ts: ctx.clock.now(), recordingId, path });
  call.recording = {
    stop: async (): Promise<void> => {
      const ts = ctx.clock.now();
      let bytes: number | undefined;
      try {
        await rec.stop();
        // The size once the header is final: what a listing shows and a download sends.
        bytes = (await stat(path)).size;
      } catch (e) {
        call.log.error({ err: String(e) }, 'recording stop failed');
      }
      ctx.cdr.contact(contactId, { type: 'recording.stopped', ts, recordingId, ...(bytes !== undefined ? { bytes } : {}) });
    },
  };
}
