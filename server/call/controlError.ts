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

/**
 * Refuses a number the outbound trunks would not take (CallContext.dialCheck: no trunk serves it,
 * the trunk is full), before anything about the call changes: a CallControlError with the check's
 * HTTP status (409 when it gives none).
 */
export function refuseUndialable(dialCheck: ((number: string) => void) | undefined, number: string): void {
  try {
    dialCheck?.(number);
  } catch (e) {
    const status = (e as { status?: unknown }).status;
    throw new CallControlError(typeof status === 'number' ? status : 409, e instanceof Error ? e.message : String(e));
  }
}
