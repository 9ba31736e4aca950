/**
 * SDP (RFC 4566/3264) for the two kinds of audio leg:
 *  - plain RTP/AVP towards carriers and desk phones (G.711 + telephone-event, rtcp-mux or not);
 *  - UDP/TLS/RTP/SAVPF towards browsers, built from mediasoup's ICE-lite/DTLS parameters.
 * Parsing and writing go through sdp-transform; this file decides what to offer and accept.
 * One call uses one G.711 law on every leg: mediasoup forwards but never transcodes, so when the
 * far end cannot do the law already chosen the answer is a CodecMismatch (SIP 488), not silence.
 */
import sdpTransform from 'sdp-transform';
import type { MediaAttributes, SessionDescription } from 'sdp-transform';
import { G711_PAYLOAD_TYPE, lawFromMime, type G711Law } from '../audio/g711.ts';

/** The offer or answer cannot be satisfied with one G.711 law: answer SIP 488. */
export class CodecMismatch extends Error {
  override name = 'CodecMismatch';
  readonly sipStatus = 488;
}

/** The SDP is malformed or has no usable audio stream: answer SIP 488 (or 400). */
export class SdpError extends Error {
  override name = 'SdpError';
  readonly sipStatus = 488;
}

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

interface AudioCodecs {
  /** G.711 laws offered, in the remote's preference order, with their payload types. */
  laws: { law: G711Law; payloadType: number }[];
  /** telephone-event/8000 payload type, if offered. */
  telephoneEvent?: number;
}

export interface RtpMediaDescription extends AudioCodecs {
  address: string;
  port: number;
  rtcpAddress: string;
  rtcpPort: number;
  rtcpMux: boolean;
  direction: Direction;
  ptime?: number;
}

export const TELEPHONE_EVENT_PT = 101;
const MID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:mid';

function parse(sdp: string): SessionDescription {
  if (typeof sdp !== 'string' || !/^v=0/m.test(sdp)) throw new SdpError('not an SDP body (no v=0 line)');
  try {
    return sdpTransform.parse(sdp);
  } catch (e) {
    throw new SdpError(`unparsable SDP: ${(e as Error).message}`);
  }
}

/** The first audio m-line with a non-zero port, or throws. */
function audioSection(s: SessionDescription): SessionDescription['media'][number] {
  const m = s.media?.find((x) => x.type === 'audio' && x.port !== 0);
  if (!m) throw new SdpError('no active audio stream in SDP');
  return m;
}

function codecsOf(m: MediaAttributes & { payloads?: string | number }): AudioCodecs {
  const pts = String(m.payloads ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 0 && n < 128);
  const laws: AudioCodecs['laws'] = [];
  let telephoneEvent: number | undefined;
  for (const pt of pts) {
    const map = m.rtp?.find((r) => r.payload === pt);
    if (map) {
      const law = lawFromMime(map.codec);
      if (law && (map.rate ?? 8000) === 8000) laws.push({ law, payloadType: pt });
      else if (map.codec.toLowerCase() === 'telephone-event' && map.rate === 8000) telephoneEvent ??= pt;
    } else if (pt === 0 || pt === 8) {
      laws.push({ law: pt === 0 ? 'PCMU' : 'PCMA', payloadType: pt }); // static, rtpmap optional
    }
  }
  return { laws, telephoneEvent };
}

function directionOf(s: SessionDescription, m: MediaAttributes): Direction {
  return m.direction ?? s.direction ?? 'sendrecv';
}

/** Read a plain RTP/AVP audio description (offer or answer) from a carrier or desk phone. */
export function parseRtpDescription(sdp: string): RtpMediaDescription {
  const s = parse(sdp);
  const m = audioSection(s);
  if (!/^RTP\/AVPF?$/i.test(m.protocol)) throw new SdpError(`unsupported transport ${m.protocol} (want RTP/AVP)`);
  const address = m.connection?.ip ?? s.connection?.ip;
  if (!address) throw new SdpError('no c= connection address for the audio stream');
  if (!Number.isInteger(m.port) || m.port < 1 || m.port > 65535) throw new SdpError(`bad port ${m.port}`);
  const rtcpMux = m.rtcpMux === 'rtcp-mux';
  const rtcpPort = rtcpMux ? m.port : (m.rtcp?.port ?? m.port + 1);
  const codecs = codecsOf(m);
  return {
    address,
    port: m.port,
    rtcpAddress: m.rtcp?.address ?? address,
    rtcpPort,
    rtcpMux,
    direction: directionOf(s, m),
    ...(m.ptime ? { ptime: Number(m.ptime) } : {}),
    ...codecs,
  };
}

/**
 * Choose the law: `required` when the call already has one (the other leg chose it), otherwise the
 * remote's first preference. Throws CodecMismatch when there is none in common.
 */
export function chooseLaw(codecs: AudioCodecs, required?: G711Law): { law: G711Law; payloadType: number } {
  const pick = required ? codecs.laws.find((l) => l.law === required) : codecs.laws[0];
  if (!pick) {
    const offered = codecs.laws.map((l) => l.law).join(', ') || 'no G.711';
    throw new CodecMismatch(required ? `remote offers ${offered}, the call is ${required}` : `remote offers ${offered}`);
  }
  return pick;
}

/** Flip a remote's direction for our answer (their sendonly = our recvonly). */
export function answerDirection(d: Direction): Direction {
  return d === 'sendonly' ? 'recvonly' : d === 'recvonly' ? 'sendonly' : d;
}

interface SessionOrigin {
  id: string;
  version: number;
}

export function newOrigin(): SessionOrigin {
  return { id: String(Math.floor(Math.random() * 1e12)), version: 1 };
}

function ipVersion(addr: string): 4 | 6 {
  return addr.includes(':') ? 6 : 4;
}

/** Build a plain RTP/AVP audio SDP (our offer, or our answer with `law` chosen). */
export function buildRtpDescription(p: {
  origin: SessionOrigin;
  address: string;
  port: number;
  /** Laws to list, first is preferred; an answer lists exactly one. */
  laws: { law: G711Law; payloadType: number }[];
  telephoneEvent?: number;
  rtcpMux: boolean;
  /** RTCP port when not muxed (a=rtcp). */
  rtcpPort?: number;
  direction?: Direction;
}): string {
  const pts = [...p.laws.map((l) => l.payloadType), ...(p.telephoneEvent !== undefined ? [p.telephoneEvent] : [])];
  const v = ipVersion(p.address);
  const desc: SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: p.origin.id, sessionVersion: p.origin.version, netType: 'IN', ipVer: v, address: p.address },
    name: '-',
    connection: { version: v, ip: p.address },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: 'audio',
        port: p.port,
        protocol: 'RTP/AVP',
        payloads: pts.join(' '),
        rtp: [
          ...p.laws.map((l) => ({ payload: l.payloadType, codec: l.law, rate: 8000 })),
          ...(p.telephoneEvent !== undefined ? [{ payload: p.telephoneEvent, codec: 'telephone-event', rate: 8000 }] : []),
        ],
        fmtp: p.telephoneEvent !== undefined ? [{ payload: p.telephoneEvent, config: '0-16' }] : [],
        ptime: 20,
        ...(p.rtcpMux ? { rtcpMux: 'rtcp-mux' } : p.rtcpPort ? { rtcp: { port: p.rtcpPort } } : {}),
        direction: p.direction ?? 'sendrecv',
      },
    ],
  };
  return sdpTransform.write(desc);
}

// ---------------------------------------------------------------------------------------------
// WebRTC (browser) side

interface WebRtcLocalParameters {
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: {
    foundation: string;
    priority: number;
    address: string;
    protocol: string;
    port: number;
    type: string;
    tcpType?: string;
  }[];
  dtlsParameters: { fingerprints: { algorithm: string; value: string }[] };
}

/** What mediasoup needs from the browser's SDP. */
export interface WebRtcRemoteDescription extends AudioCodecs {
  mid: string;
  fingerprint: { algorithm: string; value: string };
  /** The browser's a=setup: 'active' means it is the DTLS client. */
  setup: 'active' | 'passive' | 'actpass';
  ssrc?: number;
  cname?: string;
  midExtensionId?: number;
  direction: Direction;
  /** The browser's a=ice-ufrag: a new one in a re-offer asks for an ICE restart (RFC 8445 §9). */
  iceUfrag?: string;
}

/**
 * Our offer towards a browser (sip.js's standard SessionDescriptionHandler accepts it):
 * ICE-lite, all of mediasoup's candidates, DTLS actpass, rtcp-mux, BUNDLE with one mid, and our
 * outgoing SSRC when a stream towards the browser already exists.
 */
export function buildWebRtcOffer(p: {
  origin: SessionOrigin;
  local: WebRtcLocalParameters;
  law: G711Law;
  mid?: string;
  /** Our sending stream, when known (a=ssrc with cname/msid). */
  send?: { ssrc: number; cname: string };
  setup?: 'actpass' | 'active' | 'passive';
  direction?: Direction;
  /** Offer the mid RTP header extension (id 1, mediasoup's). Not in answers: see WebRtcLeg. */
  midExtension?: boolean;
}): string {
  const mid = p.mid ?? '0';
  const fp = p.local.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? p.local.dtlsParameters.fingerprints[0];
  if (!fp) throw new SdpError('mediasoup transport has no DTLS fingerprint');
  const lawPt = G711_PAYLOAD_TYPE[p.law];
  const streamId = `cc-${p.origin.id}`;
  const trackId = `cc-audio-${p.origin.id}`;
  const first = p.local.iceCandidates[0];
  const lines = [
    'v=0',
    `o=- ${p.origin.id} ${p.origin.version} IN IP4 0.0.0.0`,
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${mid}`,
    'a=msid-semantic: WMS *',
    `a=fingerprint:${fp.algorithm} ${fp.value}`,
    `m=audio ${first?.port ?? 9} UDP/TLS/RTP/SAVPF ${lawPt} ${TELEPHONE_EVENT_PT}`,
    `c=IN IP4 ${first && ipVersion(first.address) === 4 ? first.address : '0.0.0.0'}`,
    `a=rtcp:9 IN IP4 0.0.0.0`,
    `a=ice-ufrag:${p.local.iceParameters.usernameFragment}`,
    `a=ice-pwd:${p.local.iceParameters.password}`,
    ...p.local.iceCandidates.map(
      (c) =>
        `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}` +
        (c.protocol === 'tcp' ? ` tcptype ${c.tcpType ?? 'passive'}` : ''),
    ),
    'a=end-of-candidates',
    `a=setup:${p.setup ?? 'actpass'}`,
    `a=mid:${mid}`,
    ...(p.midExtension === false ? [] : [`a=extmap:1 ${MID_EXTENSION}`]),
    `a=${p.direction ?? 'sendrecv'}`,
    `a=msid:${streamId} ${trackId}`,
    'a=rtcp-mux',
    `a=rtpmap:${lawPt} ${p.law}/8000`,
    `a=rtpmap:${TELEPHONE_EVENT_PT} telephone-event/8000`,
    `a=fmtp:${TELEPHONE_EVENT_PT} 0-16`,
    'a=ptime:20',
    ...(p.send ? [`a=ssrc:${p.send.ssrc} cname:${p.send.cname}`, `a=ssrc:${p.send.ssrc} msid:${streamId} ${trackId}`] : []),
    '',
  ];
  return lines.join('\r\n');
}

/** Read a browser's answer (or offer) for the audio section. */
export function parseWebRtcDescription(sdp: string): WebRtcRemoteDescription {
  const s = parse(sdp);
  const m = audioSection(s);
  if (!/UDP\/TLS\/RTP\/SAVPF?/i.test(m.protocol)) throw new SdpError(`unsupported transport ${m.protocol} (want UDP/TLS/RTP/SAVPF)`);
  const fingerprint = m.fingerprint ?? s.fingerprint;
  if (!fingerprint) throw new SdpError('no DTLS fingerprint in SDP');
  const setup = (m.setup ?? s.setup ?? 'active') as WebRtcRemoteDescription['setup'];
  if (!['active', 'passive', 'actpass'].includes(setup)) throw new SdpError(`bad a=setup:${setup}`);
  const ssrcLine = m.ssrcs?.find((x) => x.attribute === 'cname') ?? m.ssrcs?.[0];
  const midExt = m.ext?.find((e) => e.uri === MID_EXTENSION);
  return {
    mid: m.mid !== undefined ? String(m.mid) : '0',
    fingerprint: { algorithm: fingerprint.type.toLowerCase(), value: fingerprint.hash },
    setup,
    ...(ssrcLine ? { ssrc: Number(ssrcLine.id) } : {}),
    ...(ssrcLine?.attribute === 'cname' && ssrcLine.value ? { cname: ssrcLine.value } : {}),
    ...(midExt ? { midExtensionId: midExt.value } : {}),
    direction: directionOf(s, m),
    ...((m.iceUfrag ?? s.iceUfrag) ? { iceUfrag: String(m.iceUfrag ?? s.iceUfrag) } : {}),
    ...codecsOf(m),
  };
}
