/**
 * DTMF from the agent to the caller: keys typed in the agent API are sent to the customer's leg as
 * RFC 4733 telephone-events (an outside IVR, a conference PIN), one after another with a gap, as a
 * phone would. A desk phone's own RFC 4733 keys are passed through by the media call already
 * (MediaCall reports an agent leg's key and sends it to the bridged leg).
 */
import type { Call } from './call.ts';
import { CallControlError } from './controlError.ts';

/** Tone length and the pause after it, in ms (ITU-T Q.24 asks for ≥ 40 ms of each). */
export const DTMF_TONE_MS = 160;
export const DTMF_GAP_MS = 120;

export const DTMF_DIGITS = /^[0-9*#A-D]{1,32}$/;

export async function sendDigits(call: Call, digits: string, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<void> {
  if (!DTMF_DIGITS.test(digits)) throw new CallControlError(400, 'digits: 1 to 32 of 0-9 * # A-D');
  const customer = call.customerMedia;
  if (call.phase !== 'connected' || !call.agent || !customer) {
    throw new CallControlError(409, `the call is not connected to an agent (it is ${call.phase})`);
  }
  for (const [i, d] of [...digits].entries()) {
    if (call.ended) return;
    if (!customer.sendDtmf(d, DTMF_TONE_MS)) {
      if (i === 0) throw new CallControlError(409, "the caller's line did not negotiate RFC 4733 telephone-events");
      return;
    }
    await sleep(DTMF_TONE_MS + DTMF_GAP_MS);
  }
  call.log.info({ agentId: call.agent?.party, count: digits.length }, 'agent sent DTMF');
}
