/**
 * One leg of a call: a SIP dialog and the media leg it negotiated, towards one party. A customer
 * call starts with its customer leg; an offer adds a ringing agent leg, which becomes the call's
 * agent once answered. Consult, supervisor and outbound legs are the same object with another
 * role, so hold, transfer, conference, monitor and dial each work on legs, not on special fields.
 *
 * Closing cascades: closing a leg stops its ringing (abort), hangs its dialog up (BYE or CANCEL)
 * and closes its media leg; a call hangs all its legs up when it ends.
 */
import type { Dialog } from '../sip/index.ts';
import type { PlainRtpLeg, WebRtcLeg } from '../../media/index.ts';

export type LegRole = 'customer' | 'agent' | 'consult' | 'supervisor' | 'outbound';
export type LegState = 'ringing' | 'up' | 'ended';
/** Towards a browser (WebRTC) or anything speaking plain RTP (trunk, desk phone). */
export type MediaLeg = PlainRtpLeg | WebRtcLeg;

export class CallLeg {
  #state: LegState = 'ringing';
  #dialog: Dialog | undefined;
  #media: MediaLeg | undefined;
  /** Aborts the INVITE while the leg is ringing. */
  readonly ringing = new AbortController();

  constructor(
    readonly role: LegRole,
    /** Who is on the other end: an agent id, or a phone number. */
    readonly party: string,
  ) {}

  get state(): LegState {
    return this.#state;
  }
  get dialog(): Dialog | undefined {
    return this.#dialog;
  }
  get media(): MediaLeg | undefined {
    return this.#media;
  }

  /** The media leg is made before the INVITE goes out (its SDP is the offer). */
  attachMedia(media: MediaLeg): void {
    this.#media = media;
  }

  /** The party answered: the leg is up on this dialog. */
  answered(dialog: Dialog): void {
    if (this.#state === 'ended') return;
    this.#dialog = dialog;
    this.#state = 'up';
  }

  /**
   * The dialog is already over (the party's BYE): forget it, so close() does not send a BYE of
   * its own into a terminated dialog.
   */
  dialogEnded(): void {
    this.#dialog = undefined;
  }

  /**
   * End the signalling, once: stop ringing (CANCEL) or send BYE. The media leg stays open, so a
   * recording can take its last packets; the call's media closes all its legs afterwards.
   */
  hangUp(): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.ringing.abort();
    if (this.#dialog) void this.#dialog.destroy().catch(() => undefined);
    this.#dialog = undefined;
  }

  /** Hang up and close the media leg now (an offer nobody answered, or answered too late). */
  close(): void {
    this.hangUp();
    this.#media?.close();
  }
}
