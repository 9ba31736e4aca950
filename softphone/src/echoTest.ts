/**
 * The pre-call echo test from the desk: the page dials the centre's echo extension (sip:echo@<realm>,
 * server/call/echoTest.ts) with the chosen microphone, plays what comes back on the chosen speaker,
 * measures both with the meters, and hangs up after a few seconds with a verdict: microphone heard,
 * audio back from the centre, or which of the two failed. It is a real call over the same path as a
 * customer's (WebSocket signalling, ICE/DTLS, the centre's media), so an agent at home learns that
 * their headset and network work before the first customer does.
 */
import { Inviter, SessionState, UserAgent, type UserAgent as Ua } from 'sip.js';
import type { SessionDescriptionHandler } from 'sip.js/lib/platform/web/index.js';
import { FLOOR_DB } from './audioMeters.ts';
import { micConstraints } from './devices.ts';

/** Quieter than this (dBFS) is no signal: a fake or real microphone in a quiet room is well above it. */
export const HEARD_DB = -50;

export interface EchoStreams {
  local: MediaStream;
  remote: MediaStream;
  pc: RTCPeerConnection;
}

export interface EchoVerdict {
  /** The microphone gave a signal. */
  mic: boolean;
  /** The signal came back from the centre. */
  echo: boolean;
  micDb: number;
  echoDb: number;
  ok: boolean;
  /** What the agent reads. */
  message: string;
}

/** The verdict from the highest levels the meters saw (pure; unit-tested). */
export function verdict(micPeakDb: number, echoPeakDb: number): EchoVerdict {
  const mic = micPeakDb > HEARD_DB;
  const echo = echoPeakDb > HEARD_DB;
  const db = (x: number): string => (x <= FLOOR_DB ? 'silent' : `${Math.round(x)} dB`);
  const message = !mic
    ? `No sound from your microphone (${db(micPeakDb)}): check it is plugged in, chosen above and not muted.`
    : !echo
      ? `Your microphone works (${db(micPeakDb)}) but nothing came back from the centre: the network may block audio (UDP); call support.`
      : `Audio OK: your microphone (${db(micPeakDb)}) reached the centre and came back (${db(echoPeakDb)}). If you heard yourself, your speaker works too.`;
  return { mic, echo, micDb: micPeakDb, echoDb: echoPeakDb, ok: mic && echo, message };
}

export interface EchoCall {
  /** Resolves once the centre answered and media flows, with the call's streams. */
  readonly established: Promise<EchoStreams>;
  /** Resolves when the call is over (hung up by us or by the centre). */
  readonly ended: Promise<void>;
  hangUp(): Promise<void>;
}

/** Dial the echo extension. */
export function dialEcho(ua: Ua, target: string, micId: string): EchoCall {
  const uri = UserAgent.makeURI(target);
  if (!uri) throw new Error(`not a SIP URI: ${target}`);
  const inviter = new Inviter(ua, uri, {
    sessionDescriptionHandlerOptions: { constraints: { audio: micConstraints(micId), video: false } },
  });
  let ended!: () => void;
  const endedP = new Promise<void>((r) => (ended = r));
  let resolve!: (s: EchoStreams) => void;
  let reject!: (e: Error) => void;
  const established = new Promise<EchoStreams>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  established.catch(() => undefined); // the caller awaits it; an unanswered test is not an unhandled rejection
  inviter.stateChange.addListener((s) => {
    if (s === SessionState.Established) {
      const sdh = inviter.sessionDescriptionHandler as SessionDescriptionHandler | undefined;
      if (!sdh?.peerConnection) return reject(new Error('no media'));
      resolve({ local: sdh.localMediaStream, remote: sdh.remoteMediaStream, pc: sdh.peerConnection });
    } else if (s === SessionState.Terminated) {
      reject(new Error('the echo test was not answered'));
      ended();
    }
  });
  inviter
    .invite({
      requestDelegate: {
        onReject: (r) => reject(new Error(`the centre refused the echo test: ${r.message.statusCode} ${r.message.reasonPhrase}`)),
      },
    })
    .catch((e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
  return {
    established,
    ended: endedP,
    async hangUp() {
      if (inviter.state === SessionState.Established) await inviter.bye().catch(() => undefined);
      else if (inviter.state === SessionState.Establishing || inviter.state === SessionState.Initial)
        await inviter.cancel().catch(() => undefined);
    },
  };
}
