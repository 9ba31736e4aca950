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
  // Bridge and recorder are set up side by side: the recorder sits on the caller's plain leg and
  // needs nothing of the bridge, and one after the other the recording began a whole set-up late
  // (the full-path bench measured 0.6 s median at 100 calls/s, words the recording missed).
  const [bridged, recording] = await Promise.allSettled([call.media!.bridge(call.customerMedia!, leg.media!), startRecording(call)]);
  const failed = bridged.status === 'rejected' ? bridged : recording.status === 'rejected' ? recording : undefined;
  if (failed) {
    call.log.error({ err: String(failed.reason), recording: recording.status === 'rejected' }, 'bridge failed');
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
  // The talk ended while the recorder was starting (a caller who hangs up at once): endTalk found
  // no recording to stop, so stop this one now.
  if (call.phase !== 'connected') void call.stopRecording();
}
