import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../../server/sip/parser.ts';
import type { SipRequest } from '../../../server/sip/message.ts';
import { parseReferTo, parseReplaces, replacesDialog } from '../../../server/sip/refer.ts';

function refer(...referTo: string[]): SipRequest {
  const text = [
    'REFER sip:centre@127.0.0.1 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1',
    'From: <sip:1004@127.0.0.1>;tag=a',
    'To: <sip:15550001@127.0.0.1>;tag=b',
    'Call-ID: x1',
    'CSeq: 3 REFER',
    'Max-Forwards: 70',
    ...referTo.map((r) => `Refer-To: ${r}`),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  if (!r.ok) throw new Error(r.error);
  return r.message as SipRequest;
}

describe('REFER (RFC 3515) Refer-To', () => {
  it('reads a name-addr and a bare URI', () => {
    expect(parseReferTo(refer('<sip:support@127.0.0.1>'))?.user).toBe('support');
    expect(parseReferTo(refer('sip:1005@127.0.0.1;transport=udp'))?.user).toBe('1005');
    expect(parseReferTo(refer('<tel:+15551234567>'))?.user).toBe('+15551234567');
  });

  it('refuses none, two, or garbage', () => {
    expect(parseReferTo(refer())).toBeUndefined();
    expect(parseReferTo(refer('<sip:a@h>', '<sip:b@h>'))).toBeUndefined();
    expect(parseReferTo(refer('<nonsense>'))).toBeUndefined();
  });

  it('reads Replaces embedded in the URI (RFC 3891), %-escaped', () => {
    const r = parseReferTo(refer('<sip:1005@127.0.0.1?Replaces=abc%40host%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>'));
    expect(r?.replaces).toEqual({ callId: 'abc@host', toTag: 't1', fromTag: 'f1', earlyOnly: false });
    expect(parseReplaces('id;from-tag=f;to-tag=t;early-only')).toEqual({ callId: 'id', toTag: 't', fromTag: 'f', earlyOnly: true });
    expect(parseReplaces('id;to-tag=t')).toBeUndefined();
  });

  it('refuses a Replaces that names no dialog (no tags, a bad escape) rather than treating it as a blind transfer', () => {
    expect(parseReferTo(refer('<sip:1005@127.0.0.1?Replaces=abc%3Bto-tag%3Dt1>'))).toBeUndefined();
    expect(parseReferTo(refer('<sip:1005@127.0.0.1?Replaces=%zz>'))).toBeUndefined();
    // Other URI headers alone are not a Replaces: a blind transfer as before.
    const r = parseReferTo(refer('<sip:1005@127.0.0.1?X-Note=hi>'));
    expect(r?.user).toBe('1005');
    expect(r?.replaces).toBeUndefined();
  });

  it('matches the dialog a Replaces names: Call-ID and both tags, either way round', () => {
    const d = { callId: 'c1@h', localTag: 'ours', remoteTag: 'theirs' };
    const r = (callId: string, toTag: string, fromTag: string) => ({ callId, toTag, fromTag, earlyOnly: false });
    expect(replacesDialog(d, r('c1@h', 'ours', 'theirs'))).toBe(true);
    expect(replacesDialog(d, r('c1@h', 'theirs', 'ours'))).toBe(true);
    expect(replacesDialog(d, r('c2@h', 'ours', 'theirs'))).toBe(false);
    expect(replacesDialog(d, r('c1@h', 'ours', 'other'))).toBe(false);
    expect(replacesDialog(d, r('c1@h', 'ours', 'ours'))).toBe(false);
  });
});
