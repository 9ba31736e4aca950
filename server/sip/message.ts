/**
 * SIP messages (RFC 3261 §7): requests and responses with a header table and a body.
 * Headers are kept in a Map keyed by the lowercased long-form name (compact forms are expanded
 * by the parser), each holding its values in wire order; list headers (Via, Route, Contact, …)
 * are split into one value per element so callers never deal with comma folding.
 */
import { parseNameAddr, type NameAddr } from './uri.ts';
import { parseVia, type Via } from './via.ts';

/** Where a message came from, or which flow a message should leave by. */
export interface Source {
  transport: Transport;
  address: string;
  port: number;
  /** Identifier of the connection (TCP/TLS/WS) it arrived on; for UDP, the local socket id. */
  flowId: string;
  /** Local address the message arrived on (our side of the flow). */
  localAddress: string;
  localPort: number;
}

export type Transport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** Extra headers and a body for a request or response the application asks us to build. */
export interface RequestOptions {
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  contentType?: string;
}

/** The methods we accept (§20.5), sent in Allow on INVITE, 2xx, 405 and OPTIONS answers. */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, MESSAGE, UPDATE, REGISTER, PRACK';
/** The extensions we support (§20.37): RFC 3891, 5626, 3327, 4028, 3262. */
export const SUPPORTED = 'replaces, outbound, path, timer, 100rel';

/** RFC 3261 §7.3.3 compact forms, plus ones from RFC 3515/3892/3265/4028/3841. */
export const COMPACT: Record<string, string> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  r: 'refer-to',
  b: 'referred-by',
  u: 'allow-events',
  x: 'session-expires',
  a: 'accept-contact',
  j: 'reject-contact',
  d: 'request-disposition',
  y: 'identity',
  n: 'identity-info',
};

/** Headers whose comma-separated values are separate elements (§7.3.1). */
export const LIST_HEADERS = new Set([
  'via',
  'route',
  'record-route',
  'contact',
  'path',
  'allow',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'allow-events',
]);

const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  rack: 'RAck',
  rseq: 'RSeq',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
};
const canonicalCache = new Map<string, string>();

function canonicalName(lower: string): string {
  const known = CANONICAL[lower];
  if (known) return known;
  let c = canonicalCache.get(lower);
  if (c === undefined) {
    c = lower.replace(/(^|-)([a-z])/g, (_m, d: string, ch: string) => d + ch.toUpperCase());
    if (canonicalCache.size < 1000) canonicalCache.set(lower, c);
  }
  return c;
}

export interface CSeq {
  seq: number;
  method: string;
}

export function parseCSeq(v: string | undefined): CSeq | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d{1,10})\s+([A-Za-z0-9.!%*_+`'~-]+)\s*$/.exec(v);
  if (!m) return undefined;
  const seq = Number(m[1]);
  if (seq > 0xffffffff) return undefined;
  return { seq, method: m[2]! };
}

const EMPTY = Buffer.alloc(0);

/** A header's parsed form and the raw value it was parsed from. */
interface Parsed<T> {
  raw: string | undefined;
  value: T | undefined;
}

/** `kept` if it was parsed from `raw`, else `raw` parsed now. */
function memo<T>(kept: Parsed<T> | undefined, raw: string | undefined, parse: (v: string) => T | undefined): Parsed<T> {
  return kept !== undefined && kept.raw === raw ? kept : { raw, value: raw === undefined ? undefined : parse(raw) };
}

export abstract class SipMessage {
  headers = new Map<string, string[]>();
  body: Buffer = EMPTY;
  /** Set on received messages. */
  source?: Source;

  abstract startLine(): string;
  abstract readonly isRequest: boolean;

  get(name: string): string | undefined {
    return this.headers.get(name.toLowerCase())?.[0];
  }
  getAll(name: string): string[] {
    return this.headers.get(name.toLowerCase()) ?? [];
  }
  has(name: string): boolean {
    return this.headers.has(name.toLowerCase());
  }
  set(name: string, value: string | readonly string[]): this {
    this.headers.set(name.toLowerCase(), typeof value === 'string' ? [value] : [...value]);
    return this;
  }
  add(name: string, value: string): this {
    const k = name.toLowerCase();
    const cur = this.headers.get(k);
    if (cur) cur.push(value);
    else this.headers.set(k, [value]);
    return this;
  }
  prepend(name: string, value: string): this {
    const k = name.toLowerCase();
    const cur = this.headers.get(k);
    if (cur) cur.unshift(value);
    else this.headers.set(k, [value]);
    return this;
  }
  remove(name: string): this {
    this.headers.delete(name.toLowerCase());
    return this;
  }

  // The parsed From, To, top Via and CSeq, each kept with the raw value it came from. A message is
  // read many times on its way (the parser's checks, the transaction key, the dialog match, the
  // response), and each read parsed the value again (parsing is about a tenth of the stack's CPU
  // per call). The raw string is compared on every read, so an edit by any path (set, add, the
  // headers map) is seen.
  // What these return is shared: callers copy before changing it (dialog.ts does).
  #from: Parsed<NameAddr> | undefined;
  #to: Parsed<NameAddr> | undefined;
  #via: Parsed<Via> | undefined;
  #cseq: Parsed<CSeq> | undefined;

  get callId(): string {
    return this.get('call-id') ?? '';
  }
  get cseq(): CSeq {
    return (this.#cseq = memo(this.#cseq, this.headers.get('cseq')?.[0], parseCSeq)).value ?? { seq: 0, method: '' };
  }
  get from(): NameAddr | undefined {
    return (this.#from = memo(this.#from, this.headers.get('from')?.[0], parseNameAddr)).value;
  }
  get to(): NameAddr | undefined {
    return (this.#to = memo(this.#to, this.headers.get('to')?.[0], parseNameAddr)).value;
  }
  get fromTag(): string | undefined {
    return this.from?.params.get('tag') ?? undefined;
  }
  get toTag(): string | undefined {
    return this.to?.params.get('tag') ?? undefined;
  }
  get topVia(): Via | undefined {
    return (this.#via = memo(this.#via, this.headers.get('via')?.[0], parseVia)).value;
  }
  get contentType(): string | undefined {
    return this.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  }
  get bodyText(): string {
    return this.body.toString('utf8');
  }
  setBody(body: string | Buffer, contentType?: string): this {
    this.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (contentType !== undefined) this.set('content-type', contentType);
    return this;
  }

  /** Wire form. Content-Length is always recomputed from the body. */
  serialize(): Buffer {
    let head = this.startLine() + '\r\n';
    for (const [name, values] of this.headers) {
      if (name === 'content-length') continue;
      const cn = canonicalName(name);
      for (const v of values) head += `${cn}: ${v}\r\n`;
    }
    head += `Content-Length: ${this.body.length}\r\n\r\n`;
    const h = Buffer.from(head, 'utf8');
    return this.body.length ? Buffer.concat([h, this.body]) : h;
  }
  toString(): string {
    return this.serialize().toString('utf8');
  }
}

export class SipRequest extends SipMessage {
  readonly isRequest = true;
  constructor(
    public method: string,
    public uri: string,
  ) {
    super();
  }
  startLine(): string {
    return `${this.method} ${this.uri} SIP/2.0`;
  }
}

export class SipResponse extends SipMessage {
  readonly isRequest = false;
  constructor(
    public status: number,
    public reason: string,
  ) {
    super();
  }
  startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }
}

export const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  423: 'Interval Too Brief',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
};

/** A request that failed: its final status and reason, and the response when one arrived. */
export class SipError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly response?: SipResponse,
  ) {
    super(`${status} ${reason}`);
    this.name = 'SipError';
  }
}

/**
 * A response to `req` (§8.2.6): copies Via, From, To, Call-ID, CSeq; adds a To tag when given
 * and the request had none.
 */
export function makeResponse(req: SipMessage, status: number, reason?: string, toTag?: string): SipResponse {
  const res = new SipResponse(status, reason ?? REASONS[status] ?? 'Unknown');
  for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) {
    const v = req.headers.get(h);
    if (v) res.headers.set(h, [...v]);
  }
  if (toTag !== undefined && status > 100 && req.toTag === undefined) {
    const to = res.get('to');
    if (to !== undefined) res.set('to', `${to};tag=${toTag}`);
  }
  return res;
}
