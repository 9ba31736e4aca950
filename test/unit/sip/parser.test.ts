import { describe, expect, it } from 'vitest';
import { parseMessage, StreamFramer, DEFAULT_LIMITS } from '../../../server/sip/parser.ts';
import { SipRequest, SipResponse, makeResponse } from '../../../server/sip/message.ts';
import { parseUri, parseNameAddr, formatUri } from '../../../server/sip/uri.ts';
import { parseVia } from '../../../server/sip/via.ts';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');

function parseOk(s: string | Buffer) {
  const r = parseMessage(typeof s === 'string' ? crlf(s) : s);
  if (!r.ok) throw new Error(`expected valid, got: ${r.error}`);
  return r.message;
}
function parseBad(s: string | Buffer) {
  const r = parseMessage(typeof s === 'string' ? crlf(s) : s);
  expect(r.ok).toBe(false);
  return r as Extract<typeof r, { ok: false }>;
}

const basic = `INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Type: application/sdp
Content-Length: 5

v=0
`;

describe('parser: valid messages (RFC 4475 style)', () => {
  it('parses a plain INVITE with body framed by Content-Length', () => {
    const m = parseOk(basic) as SipRequest;
    expect(m.method).toBe('INVITE');
    expect(m.uri).toBe('sip:bob@biloxi.example.com');
    expect(m.callId).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    expect(m.cseq).toEqual({ seq: 314159, method: 'INVITE' });
    expect(m.fromTag).toBe('1928301774');
    expect(m.toTag).toBeUndefined();
    expect(m.bodyText).toBe('v=0\r\n');
    expect(m.topVia?.params.get('branch')).toBe('z9hG4bK776asdhds');
  });

  it('wsinv: odd whitespace, folding, LWS around Via slashes, case-insensitive names', () => {
    const m = parseOk(`INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : 0
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;rport;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

`) as SipRequest;
    expect(m.toTag).toBe('1918181833n');
    expect(m.fromTag).toBe('98asjd8');
    expect(m.from?.displayName).toBe('J Rosenberg \\"');
    expect(m.cseq).toEqual({ seq: 9, method: 'INVITE' });
    expect(m.get('max-forwards')).toBe('0068');
    const vias = m.getAll('via');
    expect(vias).toHaveLength(3);
    const v2 = parseVia(vias[1]!);
    expect(v2?.transport).toBe('TCP');
    expect(v2?.host).toBe('spindle.example.com');
    expect(v2?.params.get('branch')).toBe('z9hG4bK9ikj8');
    expect(parseVia(vias[2]!)?.params.get('branch')).toBe('z9hG4bK30239');
    expect(m.get('subject')).toBe('');
    expect(m.get('newfangledheader')).toBe('newfangled value continued newfangled value');
    const contact = parseNameAddr(m.get('contact')!);
    expect(contact?.params.get('q')).toBe('0.33');
    expect(contact?.params.get('newparam')).toBe('newvalue');
  });

  it('intmeth: unknown method with unusual token characters', () => {
    const m =
      parseOk(`!interesting-Method0123456789_*+\`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+\`'~
To: "BEL:\\\u0007 NUL:\\\u0000 DEL:\\\u007f" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>
From: token1~\` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="работающий";tag=_token~1'+\`*%!-.
Call-ID: intmeth.word%ZK-!.*_+'@word\`~)(><:\\/"][?}{
CSeq: 139122385 !interesting-Method0123456789_*+\`.%indeed'~
Max-Forwards: 255
extensionHeader-!.%*+_\`'~:\uFEFF大停電
Content-Length: 0

`) as SipRequest;
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(m.fromTag).toBe("_token~1'+`*%!-.");
    expect(m.from?.displayName).toBe("token1~` token2'+_ token3*%!.-");
  });

  it('esc01 / escnull: escaped characters in the user part are unescaped once', () => {
    const m = parseOk(`INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%61lice@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: 0

`) as SipRequest;
    expect(parseUri(m.uri)?.user).toBe('sips:user@example.com');
    expect(m.to?.uri.user).toBe('alice');
    expect(m.from?.uri.user).toBe('I have spaces');
    expect(m.callId).toBe('esc01.239409asdfakjkn23onasd0-3234');
    expect(m.contentType).toBe('application/sdp');
  });

  it('semiuri and lwsdisp: ";" in the user part, display name without space before <', () => {
    const u = parseUri('sip:user;par=u%40example.net@example.com');
    expect(u?.user).toBe('user;par=u@example.net');
    expect(u?.host).toBe('example.com');
    const m = parseOk(`OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0

`);
    expect(m.from?.displayName).toBe('caller');
    expect(m.to?.uri.user).toBe('user');
  });

  it('longreq: very long header values and many Vias within limits', () => {
    const long = 'a'.repeat(3000);
    const vias = Array.from({ length: 40 }, (_v, i) => `Via: SIP/2.0/TCP sip${i}.example.com;branch=z9hG4bK${i}`).join('\n');
    const m = parseOk(`INVITE sip:user@example.com SIP/2.0
${vias}
To: "I have a user name of ${long}" <sip:user@example.com>
From: sip:caller@example.net;tag=12${long}
Call-ID: longreq.one${long}
CSeq: 1 INVITE
Max-Forwards: 70
Content-Length: 0

`);
    expect(m.getAll('via')).toHaveLength(40);
    expect(m.to?.displayName).toBe(`I have a user name of ${long}`);
    expect(m.fromTag).toBe(`12${long}`);
    expect(m.callId).toBe(`longreq.one${long}`);
  });

  it('transports and IPv6 Via sent-by; response with empty and UTF-8 reason phrases', () => {
    const m = parseOk(`OPTIONS sip:user@[2001:db8::10]:5070 SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: transports.kijh4akdnaqjkwendsasfdj
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw, SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj, SIP/2.0/WSS [2001:db8::9]:5061;branch=z9hG4bKasd
l: 0

`) as SipRequest;
    expect(m.getAll('via').map((v) => parseVia(v)?.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'WSS']);
    expect(parseVia(m.getAll('via')[3]!)?.host).toBe('[2001:db8::9]');
    expect(parseUri(m.uri)?.port).toBe(5070);
    const r1 = parseOk(`SIP/2.0 100 
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0

`) as SipResponse;
    expect(r1.status).toBe(100);
    expect(r1.reason).toBe('');
    const r2 = parseOk(`SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 0

`) as SipResponse;
    expect(r2.status).toBe(200);
    expect(r2.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
  });

  it('accepts bare-LF line endings and leading CRLFs', () => {
    const m = parseOk(Buffer.from('\r\n\r\n' + basic.replace('Content-Length: 5', 'Content-Length: 4'), 'utf8'));
    expect((m as SipRequest).method).toBe('INVITE');
    expect(m.callId).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    expect(m.get('contact')).toBe('<sip:alice@pc33.atlanta.example.com>');
    expect(m.bodyText).toBe('v=0\n');
  });

  it('discards datagram bytes beyond Content-Length', () => {
    const m = parseOk(crlf(basic).toString() + 'garbage');
    expect(m.bodyText).toBe('v=0\r\n');
  });

  it('round-trips through the serializer with canonical header names', () => {
    const m = parseOk(basic);
    const again = parseOk(m.serialize());
    expect(again.serialize().equals(m.serialize())).toBe(true);
    expect(m.toString()).toContain('Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n');
    expect(m.toString()).toContain('CSeq: 314159 INVITE\r\n');
    expect(m.toString()).toContain('Content-Length: 5\r\n\r\nv=0\r\n');
  });

  it('makeResponse copies the dialog-forming headers and adds the To tag once', () => {
    const req = parseOk(basic);
    const res = makeResponse(req, 180, undefined, 'abc');
    expect(res.toTag).toBe('abc');
    expect(res.getAll('via')).toEqual(req.getAll('via'));
    expect(res.reason).toBe('Ringing');
    const res2 = makeResponse(res, 200, undefined, 'zzz');
    expect(res2.toTag).toBe('abc');
  });

  it('formats URIs with escaping and parameters', () => {
    const u = parseUri('sip:I%20have@Example.COM:5080;transport=TCP;lr')!;
    expect(u.host).toBe('example.com');
    expect(u.params.get('lr')).toBeNull();
    expect(formatUri(u)).toBe('sip:I%20have@example.com:5080;transport=TCP;lr');
  });
});

describe('parser: invalid messages are rejected without throwing', () => {
  it('badvers: SIP/7.0 gets 505', () => {
    const r = parseBad(basic.replace('SIP/2.0\n', 'SIP/7.0\n'));
    expect(r.status).toBe(505);
    expect(r.partial?.callId).toBe('a84b4c76e66710@pc33.atlanta.example.com');
  });
  it('lwsstart / extra spaces in the request line', () => {
    expect(parseBad(basic.replace('INVITE sip:', 'INVITE  sip:')).error).toBe('bad request line');
    expect(parseBad(basic.replace('INVITE sip:bob@biloxi.example.com SIP/2.0', 'INVITE sip:bob@biloxi.example.com SIP/2.0 ')).error).toBe(
      'bad request line',
    );
  });
  it('clerr: Content-Length larger than the body', () => {
    const r = parseBad(basic.replace('Content-Length: 5', 'Content-Length: 9999'));
    expect(r.error).toBe('body shorter than Content-Length');
    expect(r.status).toBe(400);
    expect(r.partial?.method).toBe('INVITE');
  });
  it('ncl: negative and non-numeric Content-Length', () => {
    expect(parseBad(basic.replace('Content-Length: 5', 'Content-Length: -999')).error).toBe('bad Content-Length');
    expect(parseBad(basic.replace('Content-Length: 5', 'Content-Length: 4x')).error).toBe('bad Content-Length');
  });
  it('mismatch01: CSeq method differs from the request method', () => {
    const r = parseBad(basic.replace('CSeq: 314159 INVITE', 'CSeq: 314159 OPTIONS'));
    expect(r.error).toBe('CSeq method does not match request');
    expect(r.status).toBe(400);
    // Readable enough to answer (§8.2.6): the partial request keeps its headers.
    expect(r.partial?.method).toBe('INVITE');
    expect(r.partial?.callId).toBe('a84b4c76e66710@pc33.atlanta.example.com');
  });
  it('missing mandatory headers', () => {
    for (const h of ['Via', 'To', 'From', 'Call-ID', 'CSeq']) {
      const without = basic.replace(new RegExp(`^${h}:.*\\n`, 'm'), '');
      // The removal must have happened, or the test would only re-check the valid message.
      expect(without).not.toBe(basic);
      expect(parseBad(without).error).toBe(`missing ${h.toLowerCase()} header`);
    }
  });
  it('quotbal: unbalanced quotes in a display name; bad Request-URI; bad Via', () => {
    expect(parseBad(basic.replace('To: Bob <', 'To: "Bob <')).error).toBe('bad to header');
    expect(parseBad(basic.replace('INVITE sip:bob@biloxi.example.com', 'INVITE sip:bob@bil oxi')).error).toBe('bad request line');
    expect(parseBad(basic.replace('INVITE sip:bob@biloxi.example.com', 'INVITE sip:bob@')).error).toBe('bad Request-URI');
    expect(parseBad(basic.replace('SIP/2.0/UDP pc33', 'SIP/2.0/UDP')).error).toBe('bad Via');
    expect(parseBad(basic.replace('pc33.atlanta.example.com;branch', 'pc33.atlanta.example.com:99999;branch')).error).toBe('bad Via');
  });
  it('unknown URI scheme gets 416', () => {
    expect(parseBad(basic.replace('INVITE sip:bob@biloxi.example.com', 'INVITE nope:bob')).status).toBe(416);
  });
  it('header line without colon, continuation first, no blank line, binary junk', () => {
    expect(parseBad(basic.replace('Max-Forwards: 70', 'Max-Forwards 70')).error).toBe('header line without colon');
    // Via is the first header: indented, it is a continuation of nothing.
    expect(parseBad(basic.replace('\nVia:', '\n Via:')).error).toBe('continuation line without header');
    expect(parseBad(Buffer.from('INVITE sip:a@b SIP/2.0\r\nVia: x')).error).toBe('no blank line after headers');
    expect(parseBad(Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 13, 10, 13, 10])).error).toBe('bad request line');
    expect(parseBad(Buffer.alloc(0)).error).toBe('no blank line after headers');
  });
  it('enforces size and header-count limits', () => {
    const many = basic.replace('Max-Forwards: 70', Array.from({ length: 300 }, (_v, i) => `X-H${i}: ${i}`).join('\n'));
    expect(parseBad(many).error).toMatch(/too many headers/);
    expect(parseBad(Buffer.alloc(70_000, 65)).status).toBe(513);
  });
  it('mutated messages never throw (bounded fuzz)', () => {
    const base = crlf(basic);
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    let okCount = 0;
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(base);
      const n = 1 + Math.floor(rnd() * 6);
      for (let k = 0; k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.2 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      const r = parseMessage(cut, DEFAULT_LIMITS, rnd() < 0.5);
      if (r.ok) {
        okCount++;
        r.message.serialize();
        void r.message.from;
        void r.message.topVia;
      }
    }
    expect(okCount).toBeGreaterThan(0);
  });
});

describe('StreamFramer', () => {
  it('frames messages split across chunks and packed together, and counts pings', () => {
    const f = new StreamFramer();
    const one = crlf(basic);
    const two = Buffer.concat([Buffer.from('\r\n\r\n'), one, one]);
    const got: Buffer[] = [];
    let pings = 0;
    for (let i = 0; i < two.length; i += 37) {
      const r = f.push(two.subarray(i, i + 37));
      expect(r.error).toBeUndefined();
      got.push(...r.messages);
      pings += r.pings;
    }
    expect(got).toHaveLength(2);
    expect(pings).toBe(1);
    expect(got[1]!.equals(one)).toBe(true);
    const m = parseMessage(got[0]!, DEFAULT_LIMITS, true);
    expect(m.ok && m.message.callId).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    expect(m.ok && m.message.bodyText).toBe('v=0\r\n');
  });
  it('reports an unrecoverable stream', () => {
    const f = new StreamFramer({ ...DEFAULT_LIMITS, maxHeaderBytes: 100 });
    expect(f.push(Buffer.alloc(200, 65)).error).toBe('header section too large');
    const big = new StreamFramer({ ...DEFAULT_LIMITS, maxMessageBytes: 300 });
    expect(big.push(crlf(basic.replace('Content-Length: 5', 'Content-Length: 500'))).error).toBe('message too large');
  });
});

describe('parsed headers kept on the message', () => {
  it('are parsed once and follow every edit of the raw value', () => {
    const m = parseOk(basic);
    const to = m.to;
    expect(to?.uri.user).toBe('bob');
    expect(m.to).toBe(to); // the same object: parsed once for the parser's checks and every reader after
    expect(m.toTag).toBeUndefined();
    m.set('to', `${m.get('to')!};tag=abc`);
    expect(m.toTag).toBe('abc');
    m.headers.set('to', ['<sip:carol@chicago.example.com>;tag=x1']);
    expect(m.to?.uri.user).toBe('carol');
    expect(m.toTag).toBe('x1');
    m.remove('to');
    expect(m.to).toBeUndefined();
    // Via: the transport's rport/received stamp edits the value in place.
    const via = m.topVia;
    m.headers.get('via')![0] = `${m.get('via')!};received=192.0.2.9`;
    expect(m.topVia).not.toBe(via);
    expect(m.topVia?.params.get('received')).toBe('192.0.2.9');
    m.set('cseq', '7 BYE');
    expect(m.cseq).toEqual({ seq: 7, method: 'BYE' });
    m.set('cseq', 'garbage');
    expect(m.cseq).toEqual({ seq: 0, method: '' });
    m.set('from', 'not a name-addr <');
    expect(m.from).toBeUndefined();
  });
});
