/** The media plane's public surface, for call control (server/call) and tools. */
export { MediaPlane, MEDIA_RTP_TIMEOUT, MEDIA_WORKER_DIED, repairRecordings, type MediaPlaneOptions } from './mediaPlane.ts';
export { MediaCall, type DtmfInfo, type Playback, type PlayOptions, type Recording } from './call.ts';
export { PlainRtpLeg } from './plainRtpLeg.ts';
export { WebRtcLeg } from './webRtcLeg.ts';
export type { MediaLeg } from './leg.ts';
export { CodecMismatch, SdpError } from './sdp.ts';
export { parseDtmfInfo, type DtmfSource } from './dtmf.ts';
export { MediaWorkerMissing, resolveWorkerBinary } from './workerBinary.ts';
export type { G711Law } from './g711.ts';
export type { RecordingSummary } from './recorder.ts';
