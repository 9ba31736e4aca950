/**
 * Why a call-control operation (hold, mute, DTMF, transfer, wrap-up) was refused: the HTTP status
 * the agent API answers with and a sentence for the agent. Thrown before anything is changed, so
 * the call stays as it was.
 */
export class CallControlError extends Error {
  constructor(
    /** The HTTP status the API answers with (4xx). */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
