import { describe, expect, it } from 'vitest';
import { holdRequested } from '../../../server/call/hold.ts';

const offer = (media: string, session = ''): string =>
  [
    'v=0',
    'o=- 1 2 IN IP4 192.0.2.1',
    's=-',
    'c=IN IP4 192.0.2.1',
    't=0 0',
    session,
    'm=audio 4000 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    media,
  ]
    .filter(Boolean)
    .join('\r\n') + '\r\n';

describe('holdRequested (RFC 3264 §8.4)', () => {
  it('sendonly and inactive are hold; sendrecv and recvonly are not', () => {
    expect(holdRequested(offer('a=sendonly'))).toBe(true);
    expect(holdRequested(offer('a=inactive'))).toBe(true);
    expect(holdRequested(offer('a=sendrecv'))).toBe(false);
    expect(holdRequested(offer('a=recvonly'))).toBe(false);
    expect(holdRequested(offer(''))).toBe(false);
  });
  it('a session-level direction applies when the media has none; the media-level one wins', () => {
    expect(holdRequested(offer('', 'a=sendonly'))).toBe(true);
    expect(holdRequested(offer('a=sendrecv', 'a=sendonly'))).toBe(false);
  });
  it('the old c=0.0.0.0 form is hold (RFC 2543)', () => {
    expect(holdRequested(offer('a=sendrecv').replace('c=IN IP4 192.0.2.1', 'c=IN IP4 0.0.0.0'))).toBe(true);
  });
  it('garbage is not hold', () => {
    expect(holdRequested('not sdp')).toBe(false);
  });
});
