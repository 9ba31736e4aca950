/**
 * The media plane's Prometheus series (prefix media_), on the shared registry. Per-packet counts
 * are added when a leg closes, not per packet: the relay's hot path stays a plain integer bump.
 */
import { Counter, Gauge } from 'prom-client';
import { metrics } from '../../lib/metrics.ts';
import type { RtpRelayStats } from '../rtp/rtpRelay.ts';

export const callsActive = new Gauge({ name: 'media_calls_active', help: 'Calls with a media router', registers: [metrics] });
export const workerDeaths = new Counter({ name: 'media_worker_deaths_total', help: 'mediasoup worker crashes', registers: [metrics] });
export const callsLost = new Counter({
  name: 'media_calls_lost_total',
  help: 'Calls whose media ended under them',
  labelNames: ['reason'],
  registers: [metrics],
});
export const dtmfTotal = new Counter({
  name: 'media_dtmf_total',
  help: 'Key presses reported',
  labelNames: ['source'],
  registers: [metrics],
});
export const recordingsFailed = new Counter({
  name: 'media_recordings_failed_total',
  help: 'Recordings that could not be written or finished (file not created, disk full): the call went on unrecorded',
  registers: [metrics],
});
const rtpPackets = new Counter({
  name: 'media_rtp_packets_total',
  help: 'RTP packets through plain-leg relays (closed legs)',
  labelNames: ['direction'],
  registers: [metrics],
});
const rtcpPackets = new Counter({
  name: 'media_rtcp_packets_total',
  help: 'RTCP packets through plain-leg relays (closed legs)',
  labelNames: ['direction'],
  registers: [metrics],
});
const rejected = new Counter({
  name: 'media_rtp_rejected_total',
  help: 'Packets dropped by relays: not RTP/RTCP, or from an unlatched source',
  registers: [metrics],
});

export function countRelay(s: RtpRelayStats): void {
  rtpPackets.inc({ direction: 'in' }, s.rtpIn);
  rtpPackets.inc({ direction: 'out' }, s.rtpOut);
  rtcpPackets.inc({ direction: 'in' }, s.rtcpIn);
  rtcpPackets.inc({ direction: 'out' }, s.rtcpOut);
  rejected.inc(s.rejected);
}
