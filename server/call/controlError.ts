/**
 * Why a call-control operation (hold, mute, DTMF, transfer, consult, conference, monitor, wrap-up)
 * was refused or failed: a status and a sentence for the agent. The status is the HTTP one the API
 * answers with (409 wrong state, 404 unknown target, 501 not configured), or the SIP status of a
 * party that was rung and did not answer (480, 486…), which the API and a REFER map. The call is
 * left as it was before the operation (a failed consult puts the agent back with the caller).
 */
export class CallControlError extends Error {
  constructor(
    /** The HTTP status the API answers with, or a rung party's SIP status. */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
