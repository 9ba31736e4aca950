/**
 * Environment variables that override centre.yaml's `server:` settings, so a deployment (or a
 * test) can move ports and directories without editing the files. Values are checked like the
 * file's own: a bad value is a config error naming the variable.
 */
import type { ConfigError } from './errors.ts';

interface Override {
  /** Path inside centre.yaml's document. */
  path: string[];
  kind: 'string' | 'port' | 'boolean';
  doc: string;
}

export const ENV_OVERRIDES: Record<string, Override> = {
  CC_SIP_HOST: { path: ['server', 'sip', 'host'], kind: 'string', doc: 'SIP listen address' },
  CC_SIP_PORT: { path: ['server', 'sip', 'udpPort'], kind: 'port', doc: 'SIP UDP port (also sets TCP unless CC_SIP_TCP_PORT)' },
  CC_SIP_TCP_PORT: { path: ['server', 'sip', 'tcpPort'], kind: 'port', doc: 'SIP TCP port' },
  CC_SIP_REALM: { path: ['server', 'sipRealm'], kind: 'string', doc: 'SIP digest realm' },
  CC_HTTP_HOST: { path: ['server', 'http', 'host'], kind: 'string', doc: 'HTTP/WebSocket listen address' },
  CC_HTTP_PORT: { path: ['server', 'http', 'port'], kind: 'port', doc: 'HTTP/WebSocket port' },
  CC_HTTPS_PORT: { path: ['server', 'http', 'tls', 'port'], kind: 'port', doc: 'HTTPS/WSS port (turns HTTPS on)' },
  CC_SIP_TLS_PORT: { path: ['server', 'sip', 'tls', 'port'], kind: 'port', doc: 'SIP over TLS port (turns SIP TLS on)' },
  CC_MEDIA_LISTEN_IP: { path: ['server', 'media', 'listenIp'], kind: 'string', doc: 'RTP/ICE listen address' },
  CC_ANNOUNCED_ADDRESS: { path: ['server', 'media', 'announcedAddress'], kind: 'string', doc: 'address announced in SDP/ICE (NAT)' },
  CC_RTC_MIN_PORT: { path: ['server', 'media', 'rtcMinPort'], kind: 'port', doc: 'lowest RTP/ICE port' },
  CC_RTC_MAX_PORT: { path: ['server', 'media', 'rtcMaxPort'], kind: 'port', doc: 'highest RTP/ICE port' },
  CC_RTP_MIN_PORT: { path: ['server', 'media', 'rtpMinPort'], kind: 'port', doc: 'lowest plain-RTP port (carriers, desk phones)' },
  CC_RTP_MAX_PORT: { path: ['server', 'media', 'rtpMaxPort'], kind: 'port', doc: 'highest plain-RTP port' },
  CC_DATA_DIR: { path: ['server', 'dataDir'], kind: 'string', doc: 'runtime data root (postgres, recordings, TTS cache)' },
  CC_RECORDINGS_DIR: {
    path: ['server', 'recordings', 'dir'],
    kind: 'string',
    doc: 'recordings directory (a relative one is under the data root)',
  },
  CC_PG_DATA_DIR: { path: ['server', 'database', 'dataDir'], kind: 'string', doc: 'embedded Postgres data directory' },
  CC_PG_PORT: { path: ['server', 'database', 'port'], kind: 'port', doc: 'embedded Postgres port (default 5433)' },
  DATABASE_URL: { path: ['server', 'database', 'url'], kind: 'string', doc: 'external Postgres URL (embedded one not started)' },
  CC_TIMEZONE: { path: ['server', 'timezone'], kind: 'string', doc: 'zone for times given without an offset' },
};

/**
 * Writes the overrides found in `env` into the parsed centre.yaml object (before validation).
 * Returns the errors for values that cannot be right.
 */
export function applyEnv(centre: Record<string, unknown>, env: Record<string, string | undefined>): ConfigError[] {
  const errors: ConfigError[] = [];
  const set = (path: string[], value: unknown): void => {
    let o: Record<string, unknown> = centre;
    for (const k of path.slice(0, -1)) {
      const next = o[k];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) o[k] = {};
      o = o[k] as Record<string, unknown>;
    }
    o[path[path.length - 1]!] = value;
  };
  for (const [name, ov] of Object.entries(ENV_OVERRIDES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (ov.kind === 'port') {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
        errors.push({ file: 'env', line: 0, column: 0, path: [name], message: `${name}="${raw}" is not a port number (1-65535)` });
        continue;
      }
      set(ov.path, n);
      if (name === 'CC_SIP_PORT' && !env.CC_SIP_TCP_PORT) set(['server', 'sip', 'tcpPort'], n);
    } else {
      set(ov.path, raw);
    }
    if (name === 'DATABASE_URL') set(['server', 'database', 'embedded'], false);
  }
  return errors;
}
