/**
 * SIP message parser (RFC 3261 §7, §25; torture cases of RFC 4475) and the stream framer that cuts
 * a TCP/TLS byte stream into messages by Content-Length (§18.3).
 *
 * Nothing here throws on bad input: parseMessage returns `{ ok: false }` with a reason, a status
 * to answer with (400/413/505) and, when the request was readable enough, the partial request so
 * the transport can still form a response (§8.2.6 needs Via, From, To, Call-ID, CSeq).
 */
import { COMPACT, LIST_HEADERS, SipRequest, SipResponse, type SipMessage } from './message.ts';
import { parseNameAddr, parseUri, splitOutside } from './uri.ts';

export interface ParseLimits {
  /** Largest whole message accepted (datagram or framed). */
  maxMessageBytes: number;
  /** Largest header section (start line + headers). */
  maxHeaderBytes: number;
  maxHeaders: number;
}

export const DEFAULT_LIMITS: ParseLimits = {
  maxMessageBytes: 65_535,
  maxHeaderBytes: 16_384,
  maxHeaders: 256,
};

export type ParseResult = { ok: true; message: SipMessage } | { ok: false; error: string; status: number; partial?: SipRequest };

const TOKEN_RE = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');

function fail(error: string, status = 400, partial?: SipRequest): ParseResult {
  return partial ? { ok: false, error, status, partial } : { ok: false, error, status };
}

/** Locate the end of the header section: index of the blank line and its length. */
function findHeaderEnd(buf: Buffer, from = 0): { at: number; len: number } | undefined {
  const crlf = buf.indexOf(CRLFCRLF, from);
  const lf = buf.indexOf(LFLF, from);
  if (crlf < 0 && lf < 0) return undefined;
  if (lf >= 0 && (crlf < 0 || lf < crlf)) return { at: lf, len: 2 };
  return { at: crlf, len: 4 };
}

/**
 * Parse one complete message. `stream` is true when the caller has already framed it (TCP/TLS/WS):
 * then Content-Length must match exactly; on datagrams extra bytes after Content-Length are
 * discarded (§18.3).
 */
export function parseMessage(buf: Buffer, limits: ParseLimits = DEFAULT_LIMITS, stream = false): ParseResult {
  if (buf.length > limits.maxMessageBytes) return fail('message too large', 513);
  // §7.5: ignore CRLFs before the start line.
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  const end = findHeaderEnd(buf, start);
  if (!end) return fail('no blank line after headers');
  if (end.at - start > limits.maxHeaderBytes) return fail('header section too large', 513);
  const head = buf.toString('utf8', start, end.at);
  const lines = head.split(/\r?\n/);
  const startLine = lines[0] ?? '';

  let msg: SipMessage;
  if (startLine.startsWith('SIP/')) {
    const m = /^SIP\/(\d+\.\d+) (\d{3}) ([^\r\n]*)$/.exec(startLine);
    if (!m) return fail('bad status line');
    if (m[1] !== '2.0') return fail('unsupported SIP version', 505);
    const status = Number(m[2]);
    if (status < 100 || status > 699) return fail('bad status code');
    msg = new SipResponse(status, m[3]!);
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version — exactly one SP each (RFC 4475 lwsstart).
    const parts = startLine.split(' ');
    if (parts.length !== 3) return fail('bad request line');
    const [method, uri, version] = parts as [string, string, string];
    if (!TOKEN_RE.test(method)) return fail('bad method');
    if (!/^SIP\/\d+\.\d+$/i.test(version)) return fail('bad SIP version');
    msg = new SipRequest(method, uri);
    if (version.toUpperCase() !== 'SIP/2.0') {
      const err = parseHeaders(lines, msg, limits);
      return fail('unsupported SIP version', 505, err ? undefined : (msg as SipRequest));
    }
  }

  const herr = parseHeaders(lines, msg, limits);
  const partial = msg instanceof SipRequest ? msg : undefined;
  if (herr) return fail(herr, 400, partial);

  // Body and Content-Length.
  const bodyStart = end.at + end.len;
  const available = buf.length - bodyStart;
  const clv = msg.headers.get('content-length');
  if (clv) {
    if (clv.length > 1) return fail('multiple Content-Length', 400, partial);
    const cl = clv[0]!.trim();
    if (!/^\d{1,9}$/.test(cl)) return fail('bad Content-Length', 400, partial);
    const n = Number(cl);
    if (n > available) return fail('body shorter than Content-Length', 400, partial);
    if (stream && n < available) return fail('body longer than Content-Length', 400, partial);
    msg.body = buf.subarray(bodyStart, bodyStart + n);
  } else if (stream && available > 0) {
    return fail('missing Content-Length on stream', 400, partial);
  } else {
    msg.body = buf.subarray(bodyStart);
  }

  const verr = validate(msg);
  if (verr) return fail(verr.error, verr.status, partial);
  return { ok: true, message: msg };
}

function parseHeaders(lines: string[], msg: SipMessage, limits: ParseLimits): string | undefined {
  let count = 0;
  let name: string | undefined;
  let value = '';
  const flush = (): string | undefined => {
    if (name === undefined) return undefined;
    if (++count > limits.maxHeaders) return 'too many headers';
    const v = value.trim();
    if (LIST_HEADERS.has(name) && !(name === 'contact' && v === '*')) {
      for (const part of splitOutside(v, ',')) {
        const p = part.trim();
        if (p !== '') msg.add(name, p);
      }
    } else msg.add(name, v);
    name = undefined;
    return undefined;
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const c0 = line.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) {
      // §7.3.1 folding: continuation lines join with a single SP.
      if (name === undefined) return 'continuation line without header';
      value += ' ' + line.trim();
      continue;
    }
    const e = flush();
    if (e) return e;
    const colon = line.indexOf(':');
    if (colon <= 0) return 'header line without colon';
    const raw = line.slice(0, colon).trimEnd();
    if (!TOKEN_RE.test(raw)) return `bad header name '${raw.slice(0, 40)}'`;
    let lower = raw.toLowerCase();
    if (lower.length === 1) lower = COMPACT[lower] ?? lower;
    name = lower;
    value = line.slice(colon + 1);
  }
  return flush();
}

function validate(msg: SipMessage): { error: string; status: number } | undefined {
  for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (!msg.headers.has(h)) return { error: `missing ${h} header`, status: 400 };
  }
  const cseqV = msg.headers.get('cseq')!;
  if (cseqV.length !== 1) return { error: 'multiple CSeq', status: 400 };
  // Read through the message's getters, which keep what they parse for the layers above (a CSeq
  // that does not parse reads as method '').
  const cseq = msg.cseq;
  if (cseq.method === '') return { error: 'bad CSeq', status: 400 };
  if (msg.headers.get('call-id')!.length !== 1 || !/^\S+$/.test(msg.headers.get('call-id')![0]!)) {
    return { error: 'bad Call-ID', status: 400 };
  }
  if (msg.headers.get('from')!.length !== 1 || !msg.from) return { error: 'bad from header', status: 400 };
  if (msg.headers.get('to')!.length !== 1 || !msg.to) return { error: 'bad to header', status: 400 };
  if (!msg.topVia) return { error: 'bad Via', status: 400 };
  const mf = msg.headers.get('max-forwards');
  if (mf && (mf.length !== 1 || !/^\s*\d{1,9}\s*$/.test(mf[0]!))) return { error: 'bad Max-Forwards', status: 400 };
  if (msg instanceof SipRequest) {
    if (cseq.method !== msg.method) return { error: 'CSeq method does not match request', status: 400 };
    const uri = parseUri(msg.uri);
    if (!uri) return { error: 'bad Request-URI', status: 400 };
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips' && uri.scheme !== 'tel') {
      return { error: 'unsupported URI scheme', status: 416 };
    }
    const contacts = msg.headers.get('contact');
    if (contacts) {
      for (const c of contacts) if (c !== '*' && !parseNameAddr(c)) return { error: 'bad Contact', status: 400 };
    }
  }
  return undefined;
}

/**
 * Cuts a byte stream into SIP messages (§18.3) and reports RFC 5626 keep-alives: a double CRLF
 * "ping" (answer with a single CRLF "pong") and lone CRLF pongs, which are ignored.
 */
export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly limits: ParseLimits = DEFAULT_LIMITS) {}

  /**
   * Feed bytes; returns the complete messages, pings seen, and an error if the stream is beyond
   * repair (then the connection should be closed).
   */
  push(chunk: Buffer): { messages: Buffer[]; pings: number; error?: string } {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const messages: Buffer[] = [];
    let pings = 0;
    for (;;) {
      let i = 0;
      while (i < this.buf.length && (this.buf[i] === 0x0d || this.buf[i] === 0x0a)) i++;
      if (i > 0) {
        if (i >= 4 && this.buf[0] === 0x0d && this.buf[1] === 0x0a && this.buf[2] === 0x0d && this.buf[3] === 0x0a) pings++;
        this.buf = this.buf.subarray(i);
      }
      if (this.buf.length === 0) break;
      const end = findHeaderEnd(this.buf);
      if (!end) {
        if (this.buf.length > this.limits.maxHeaderBytes) return { messages, pings, error: 'header section too large' };
        break;
      }
      const head = this.buf.toString('latin1', 0, end.at);
      const m = /(?:^|\n)(?:content-length|l)[ \t]*:[ \t]*(\d+)/i.exec(head);
      const cl = m ? Number(m[1]) : 0;
      const total = end.at + end.len + cl;
      if (total > this.limits.maxMessageBytes) return { messages, pings, error: 'message too large' };
      if (this.buf.length < total) break;
      messages.push(Buffer.from(this.buf.subarray(0, total)));
      this.buf = this.buf.subarray(total);
    }
    return { messages, pings };
  }
}
