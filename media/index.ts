/**
 * The media plane's public surface, for call control (server/call) and tools. Inside media/:
 *  - mediasoup/  the main thread's side: MediaPlane, calls (one mediasoup Router each), their legs
 *                (plain RTP, WebRTC) and the legs' SDP, the mediasoup worker binary and pool;
 *  - rtp/        RTP itself (RFC 3550 packets and RTCP, RFC 4733 events) and the RTP threads
 *                (worker_threads) that relay plain legs' packets and do their per-packet work;
 *  - audio/      samples: G.711, WAV, prompts, recording, in-band DTMF detection, pcap files.
 */
export { MediaPlane, MEDIA_RTP_TIMEOUT, MEDIA_WORKER_DIED, repairRecordings, type MediaPlaneOptions } from './mediasoup/mediaPlane.ts';
export { MediaCall, type DtmfInfo, type Playback, type PlayOptions, type Recording } from './mediasoup/call.ts';
export { PlainRtpLeg } from './mediasoup/plainRtpLeg.ts';
export { conferenceHears, MediaMix, monitorHears, type LegHearMatrix, type MonitorMode, type RtpMixStats } from './mediasoup/mix.ts';
export { WebRtcLeg } from './mediasoup/webRtcLeg.ts';
export type { MediaLeg } from './mediasoup/leg.ts';
export { CodecMismatch, SdpError } from './mediasoup/sdp.ts';
export { parseDtmfInfo, type DtmfSource } from './mediasoup/dtmf.ts';
export { MediaWorkerMissing, resolveWorkerBinary } from './mediasoup/workerBinary.ts';
export type { G711Law } from './audio/g711.ts';
export type { RecordingSummary } from './audio/recorder.ts';
// Audio tools used outside media/ (IVR prompts and TTS, the demo caller, tests' audio checks).
export { decodeG711 } from './audio/g711.ts';
export { encodeWav, parseWav, resample, wavToMono8k } from './audio/wav.ts';
export { g711Pcap, rtpFromPcap } from './audio/pcap.ts';
export { goertzel, goertzelCoefficient } from './audio/goertzel.ts';
