/**
 * SIP and SIPS URIs (RFC 3261 §19.1) and the name-addr / addr-spec forms used by From, To,
 * Contact, Route and Record-Route (§20, §25.1). Parsers return undefined on bad input; they never
 * throw, because every value they see came off the wire.
 */

export interface SipUri {
  scheme: string; // 'sip' | 'sips' | 'tel' | other absoluteURI schemes, lowercased
  user?: string; // unescaped
  password?: string;
  host: string; // lowercased; IPv6 kept in brackets
  port?: number;
  params: Map<string, string | null>; // uri-parameters, names lowercased; flag params map to null
  headers?: string; // raw '?h=v&...' part without the '?'
  /** For non-sip schemes (tel:, urn:, http:) the part after 'scheme:'. */
  opaque?: string;
}

export interface NameAddr {
  displayName?: string;
  uri: SipUri;
  /** Header parameters (tag, expires, q, +sip.instance, lr is a URI param). Names lowercased. */
  params: Map<string, string | null>;
}

const HOST_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9.])?)$/;
const USER_RE = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$/;

function unescape(s: string): string | undefined {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Split on `sep` outside double quotes and angle brackets. */
export function splitOutside(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') depth++;
    else if (c === '>') depth = Math.max(0, depth - 1);
    else if (c === sep && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** Parse `;a=b;c` parameter lists (leading ';' optional). Names lowercased. */
export function parseParams(s: string): Map<string, string | null> | undefined {
  const params = new Map<string, string | null>();
  for (const raw of splitOutside(s, ';')) {
    const p = raw.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq === 0) return undefined;
    if (eq < 0) params.set(p.toLowerCase(), null);
    else {
      const name = p.slice(0, eq).trim().toLowerCase();
      let value = p.slice(eq + 1).trim();
      if (name === '') return undefined;
      if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
      params.set(name, value);
    }
  }
  return params;
}

function formatParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

export function parseUri(input: string): SipUri | undefined {
  const s = input.trim();
  const colon = s.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = s.slice(0, colon).toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) return undefined;
  const rest = s.slice(colon + 1);
  if (scheme !== 'sip' && scheme !== 'sips') {
    if (rest === '' || /\s/.test(rest)) return undefined;
    return { scheme, host: '', params: new Map(), opaque: rest };
  }
  let hostPart = rest;
  let user: string | undefined;
  let password: string | undefined;
  // userinfo cannot hold an unescaped '@', so the first '@' ends it when what precedes is valid
  // userinfo; otherwise the '@' belongs to a header part (`sip:host?subject=a@b`).
  let at = rest.indexOf('@');
  if (at >= 0 && !USER_RE.test(rest.slice(0, at).replace(/:/g, ''))) at = -1;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    hostPart = rest.slice(at + 1);
    if (userinfo === '' || !USER_RE.test(userinfo.replace(/:/g, ''))) return undefined;
    const pc = userinfo.indexOf(':');
    const rawUser = pc >= 0 ? userinfo.slice(0, pc) : userinfo;
    user = unescape(rawUser);
    if (user === undefined || user === '') return undefined;
    if (pc >= 0) {
      password = unescape(userinfo.slice(pc + 1));
      if (password === undefined) return undefined;
    }
  }
  let headers: string | undefined;
  const hq = hostPart.indexOf('?');
  if (hq >= 0) {
    headers = hostPart.slice(hq + 1);
    hostPart = hostPart.slice(0, hq);
  }
  const semi = hostPart.indexOf(';');
  let paramStr = '';
  if (semi >= 0) {
    paramStr = hostPart.slice(semi);
    hostPart = hostPart.slice(0, semi);
  }
  const hp = parseHostPort(hostPart);
  if (!hp) return undefined;
  const params = parseParams(paramStr);
  if (!params) return undefined;
  const uri: SipUri = { scheme, host: hp.host, params };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (hp.port !== undefined) uri.port = hp.port;
  if (headers !== undefined) uri.headers = headers;
  return uri;
}

export function parseHostPort(s: string): { host: string; port?: number } | undefined {
  let host = s;
  let port: number | undefined;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return undefined;
    host = s.slice(0, end + 1);
    const tail = s.slice(end + 1);
    if (tail !== '') {
      if (!tail.startsWith(':')) return undefined;
      port = parsePort(tail.slice(1));
      if (port === undefined) return undefined;
    }
  } else {
    const c = s.lastIndexOf(':');
    if (c >= 0) {
      host = s.slice(0, c);
      port = parsePort(s.slice(c + 1));
      if (port === undefined) return undefined;
    }
  }
  if (!HOST_RE.test(host)) return undefined;
  return port === undefined ? { host: host.toLowerCase() } : { host: host.toLowerCase(), port };
}

function parsePort(s: string): number | undefined {
  if (!/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 && n <= 65535 ? n : undefined;
}

const USER_UNRESERVED = /[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g;

export function formatUri(u: SipUri): string {
  if (u.opaque !== undefined) return `${u.scheme}:${u.opaque}`;
  let s = `${u.scheme}:`;
  if (u.user !== undefined) {
    s += u.user.replace(USER_UNRESERVED, (c) => encodeURIComponent(c));
    if (u.password !== undefined) s += `:${encodeURIComponent(u.password)}`;
    s += '@';
  }
  s += u.host;
  if (u.port !== undefined) s += `:${u.port}`;
  s += formatParams(u.params);
  if (u.headers !== undefined) s += `?${u.headers}`;
  return s;
}

/**
 * name-addr (`"Alice" <sip:a@x>;tag=1`) or addr-spec (`sip:a@x;tag=1`, where the parameters
 * belong to the header, not the URI — §20.10).
 */
export function parseNameAddr(input: string): NameAddr | undefined {
  const s = input.trim();
  let displayName: string | undefined;
  let uriStr: string;
  let rest: string;
  const lt = findUnquoted(s, '<');
  if (lt >= 0) {
    const gt = s.indexOf('>', lt);
    if (gt < 0) return undefined;
    let dn = s.slice(0, lt).trim();
    if (dn.startsWith('"')) {
      if (!dn.endsWith('"') || dn.length < 2) return undefined;
      dn = dn.slice(1, -1).replace(/\\(.)/g, '$1');
    } else if (dn !== '' && !/^[A-Za-z0-9\-.!%*_+`'~ \t]+$/.test(dn)) return undefined;
    if (dn !== '') displayName = dn.replace(/\s+/g, ' ');
    uriStr = s.slice(lt + 1, gt);
    rest = s.slice(gt + 1);
  } else {
    const semi = s.indexOf(';');
    uriStr = (semi >= 0 ? s.slice(0, semi) : s).trim();
    rest = semi >= 0 ? s.slice(semi) : '';
    // addr-spec may not contain ',', '?' or ';' unescaped (§20) — the split above handles ';'.
    if (/[\s,?]/.test(uriStr)) return undefined;
  }
  const uri = parseUri(uriStr);
  if (!uri) return undefined;
  rest = rest.trim();
  if (rest !== '' && !rest.startsWith(';')) return undefined;
  const params = parseParams(rest);
  if (!params) return undefined;
  return displayName === undefined ? { uri, params } : { displayName, uri, params };
}

function findUnquoted(s: string, ch: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ch) return i;
  }
  return -1;
}

/** The URI of a Contact header value (a dialog's remote target, a registered contact). */
export function formatTarget(contact: string): string {
  const na = parseNameAddr(contact);
  if (!na) return contact;
  const s = contact.trim();
  const lt = s.indexOf('<');
  if (lt >= 0) return s.slice(lt + 1, s.indexOf('>', lt));
  const semi = s.indexOf(';');
  return semi >= 0 ? s.slice(0, semi) : s;
}

/** The AOR key used by the location service: `sip:user@host`, lowercased host, no port/params. */
export function aorOf(uri: SipUri): string {
  return uri.user !== undefined ? `sip:${uri.user}@${uri.host}` : `sip:${uri.host}`;
}
