import { describe, expect, it } from 'vitest';
import {
  answerDirection,
  buildRtpDescription,
  buildWebRtcOffer,
  chooseLaw,
  CodecMismatch,
  newOrigin,
  parseRtpDescription,
  parseWebRtcDescription,
  SdpError,
} from '../../../media/mediasoup/sdp.ts';

const carrierOffer = [
  'v=0',
  'o=carrier 123 456 IN IP4 198.51.100.7',
  's=-',
  'c=IN IP4 198.51.100.7',
  't=0 0',
  'm=audio 16384 RTP/AVP 18 8 0 96 13',
  'a=rtpmap:18 G729/8000',
  'a=rtpmap:96 telephone-event/8000',
  'a=fmtp:96 0-15',
  'a=rtcp:16391',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n');

describe('plain RTP SDP', () => {
  it('reads a carrier offer: laws in order (static PTs without rtpmap), telephone-event, RTCP port', () => {
    const d = parseRtpDescription(carrierOffer);
    expect(d.laws).toEqual([
      { law: 'PCMA', payloadType: 8 },
      { law: 'PCMU', payloadType: 0 },
    ]);
    expect(d.telephoneEvent).toBe(96);
    expect(d).toMatchObject({ address: '198.51.100.7', port: 16384, rtcpPort: 16391, rtcpMux: false, direction: 'sendrecv', ptime: 20 });
    expect(chooseLaw(d)).toEqual({ law: 'PCMA', payloadType: 8 });
    expect(chooseLaw(d, 'PCMU')).toEqual({ law: 'PCMU', payloadType: 0 });
  });

  it('takes the media-level c= over the session one, rtcp-mux, hold directions', () => {
    const d = parseRtpDescription(
      'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\na=rtcp-mux\r\na=sendonly\r\n',
    );
    expect(d).toMatchObject({ address: '10.0.0.2', rtcpMux: true, rtcpPort: 5000, direction: 'sendonly' });
    expect(answerDirection('sendonly')).toBe('recvonly');
    expect(answerDirection('recvonly')).toBe('sendonly');
    expect(answerDirection('inactive')).toBe('inactive');
  });

  it('no common law → CodecMismatch carrying 488; junk → SdpError', () => {
    const g729only = carrierOffer.replace('m=audio 16384 RTP/AVP 18 8 0 96 13', 'm=audio 16384 RTP/AVP 18 96');
    const e = (() => {
      try {
        chooseLaw(parseRtpDescription(g729only));
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(CodecMismatch);
    expect((e as CodecMismatch).sipStatus).toBe(488);
    const pcmuOnly = carrierOffer.replace('RTP/AVP 18 8 0 96 13', 'RTP/AVP 0 96');
    expect(() => chooseLaw(parseRtpDescription(pcmuOnly), 'PCMA')).toThrow(/PCMU, the call is PCMA/);
    expect(() => parseRtpDescription('hello')).toThrow(SdpError);
    expect(() => parseRtpDescription('v=0\r\nm=video 5000 RTP/AVP 96\r\n')).toThrow(/no active audio/);
    expect(() => parseRtpDescription('v=0\r\nm=audio 0 RTP/AVP 0\r\n')).toThrow(/no active audio/);
    expect(() => parseRtpDescription('v=0\r\nm=audio 5000 RTP/AVP 0\r\n')).toThrow(/no c= connection/);
    expect(() => parseRtpDescription('v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/SAVP 0\r\n')).toThrow(/unsupported transport/);
  });

  it('writes an answer the parser (and so a peer) reads back identically', () => {
    const sdp = buildRtpDescription({
      origin: newOrigin(),
      address: '203.0.113.9',
      port: 20000,
      laws: [{ law: 'PCMA', payloadType: 8 }],
      telephoneEvent: 96,
      rtcpMux: false,
      rtcpPort: 20001,
      direction: 'recvonly',
    });
    expect(sdp).toContain('m=audio 20000 RTP/AVP 8 96\r\n');
    expect(sdp).toContain('a=rtcp:20001');
    expect(sdp).toContain('a=fmtp:96 0-16');
    const back = parseRtpDescription(sdp);
    expect(back).toMatchObject({
      address: '203.0.113.9',
      port: 20000,
      rtcpPort: 20001,
      rtcpMux: false,
      telephoneEvent: 96,
      direction: 'recvonly',
    });
    expect(back.laws).toEqual([{ law: 'PCMA', payloadType: 8 }]);
  });
});

describe('WebRTC SDP', () => {
  const local = {
    iceParameters: { usernameFragment: 'uf', password: 'pw' },
    iceCandidates: [
      { foundation: 'udpcand', priority: 1076302079, address: '203.0.113.9', protocol: 'udp', port: 40001, type: 'host' },
      {
        foundation: 'tcpcand',
        priority: 1076276479,
        address: '203.0.113.9',
        protocol: 'tcp',
        port: 40002,
        type: 'host',
        tcpType: 'passive',
      },
    ],
    dtlsParameters: {
      fingerprints: [
        { algorithm: 'sha-512', value: 'AA' },
        { algorithm: 'sha-256', value: 'AB:CD' },
      ],
    },
  };

  it('offers ICE-lite, actpass, rtcp-mux, BUNDLE, mid extension, law + telephone-event, ssrc when sending', () => {
    const o = buildWebRtcOffer({ origin: newOrigin(), local, law: 'PCMA', send: { ssrc: 1234, cname: 'cn' } });
    for (const line of [
      'a=ice-lite',
      'a=group:BUNDLE 0',
      'a=fingerprint:sha-256 AB:CD',
      'm=audio 40001 UDP/TLS/RTP/SAVPF 8 101',
      'c=IN IP4 203.0.113.9',
      'a=ice-ufrag:uf',
      'a=ice-pwd:pw',
      'a=candidate:udpcand 1 udp 1076302079 203.0.113.9 40001 typ host',
      'a=candidate:tcpcand 1 tcp 1076276479 203.0.113.9 40002 typ host tcptype passive',
      'a=setup:actpass',
      'a=mid:0',
      'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
      'a=rtcp-mux',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=ssrc:1234 cname:cn',
    ]) {
      expect(o.split('\r\n')).toContain(line);
    }
    expect(buildWebRtcOffer({ origin: newOrigin(), local, law: 'PCMU' })).not.toContain('a=ssrc');
  });

  it('reads a Chrome answer: fingerprint, setup, ssrc, cname, mid extension id', () => {
    const chrome = [
      'v=0',
      'o=- 4611 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=group:BUNDLE 0',
      'a=msid-semantic: WMS stream',
      'm=audio 9 UDP/TLS/RTP/SAVPF 0 101',
      'c=IN IP4 0.0.0.0',
      'a=ice-ufrag:x',
      'a=ice-pwd:yyyyyyyyyyyyyyyyyyyyyy',
      'a=fingerprint:sha-256 11:22:33',
      'a=setup:active',
      'a=mid:0',
      'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
      'a=sendrecv',
      'a=rtcp-mux',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=ssrc:987654 cname:abc',
      'a=ssrc:987654 msid:stream track',
      '',
    ].join('\r\n');
    const d = parseWebRtcDescription(chrome);
    expect(d).toMatchObject({
      mid: '0',
      setup: 'active',
      ssrc: 987654,
      cname: 'abc',
      midExtensionId: 1,
      telephoneEvent: 101,
      direction: 'sendrecv',
      iceUfrag: 'x',
    });
    // An ICE restart's re-offer is told apart by its new ufrag (WebRtcLeg.update).
    expect(parseWebRtcDescription(chrome.replace('a=ice-ufrag:x', 'a=ice-ufrag:x2')).iceUfrag).toBe('x2');
    expect(d.fingerprint).toEqual({ algorithm: 'sha-256', value: '11:22:33' });
    expect(d.laws).toEqual([{ law: 'PCMU', payloadType: 0 }]);
    expect(() => chooseLaw(d, 'PCMA')).toThrow(CodecMismatch);
    expect(() => parseWebRtcDescription(chrome.replace('a=fingerprint:sha-256 11:22:33\r\n', ''))).toThrow(/fingerprint/);
    expect(() => parseWebRtcDescription(chrome.replace('UDP/TLS/RTP/SAVPF', 'RTP/AVP'))).toThrow(/unsupported transport/);
  });
});
