/**
 * The Via header (RFC 3261 §20.42, §18.2.2) with rport/received (RFC 3581). The top Via names the
 * transaction (branch) and tells a server where to send responses.
 */
import { parseHostPort, parseParams } from './uri.ts';

export const MAGIC_COOKIE = 'z9hG4bK';

export interface Via {
  protocol: string; // 'SIP/2.0'
  transport: string; // upper case: UDP, TCP, TLS, WS, WSS, SCTP
  host: string;
  port?: number;
  params: Map<string, string | null>;
}

export function parseVia(value: string): Via | undefined {
  const s = value.trim();
  // sent-protocol allows LWS around each '/' (RFC 4475 §3.1.1.1 wsinv).
  const m = /^([A-Za-z0-9.!%*_+`'~-]+)\s*\/\s*([A-Za-z0-9.!%*_+`'~-]+)\s*\/\s*([A-Za-z0-9.!%*_+`'~-]+)\s+(.*)$/s.exec(s);
  if (!m) return undefined;
  const rest = m[4]!;
  const semi = rest.indexOf(';');
  const sentBy = (semi >= 0 ? rest.slice(0, semi) : rest).replace(/\s+/g, '');
  const hp = parseHostPort(sentBy);
  if (!hp) return undefined;
  const params = parseParams(semi >= 0 ? rest.slice(semi) : '');
  if (!params) return undefined;
  const via: Via = {
    protocol: `${m[1]!.toUpperCase()}/${m[2]!}`,
    transport: m[3]!.toUpperCase(),
    host: hp.host,
    params,
  };
  if (hp.port !== undefined) via.port = hp.port;
  return via;
}

let branchSeq = 0;
const branchSalt = Math.random().toString(36).slice(2, 10);

/** A branch unique in space and time (§8.1.1.7): salt per process + counter + time. */
export function newBranch(): string {
  branchSeq = (branchSeq + 1) >>> 0;
  return `${MAGIC_COOKIE}${branchSalt}${branchSeq.toString(36)}${(Date.now() & 0xffffff).toString(36)}`;
}

let tagSeq = 0;
export function newTag(): string {
  tagSeq = (tagSeq + 1) >>> 0;
  return `${branchSalt.slice(0, 6)}${tagSeq.toString(36)}${Math.floor(Math.random() * 0xffffff).toString(36)}`;
}

export function newCallId(host: string): string {
  tagSeq = (tagSeq + 1) >>> 0;
  return `${branchSalt}${tagSeq.toString(36)}${Date.now().toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}@${host}`;
}
