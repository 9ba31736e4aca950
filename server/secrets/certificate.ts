/**
 * The centre's TLS certificate, for HTTPS/WSS (browsers give a page the microphone only in a secure
 * context: HTTPS, or loopback) and SIP over TLS.
 *
 * Either the admin names a certificate and key (PEM files, e.g. from Let's Encrypt or the company
 * CA): they are read and checked (the key must be the certificate's; an expired one is refused),
 * or, for a demo or a first try, the centre makes a self-signed one under its data directory on
 * first start and keeps it. The generated one names every address agents may use (localhost,
 * 127.0.0.1, the listen and announced addresses, the machine's name); if the addresses change, or
 * it nears its end, it is made again. Its SHA-256 fingerprint is printed so that an agent can check
 * what the browser's warning page shows before accepting it.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface CentreCertificate {
  cert: string;
  key: string;
  /** SHA-256 fingerprint, colon-separated hex (what browsers show). */
  fingerprint: string;
  /** Where it came from: the admin's files, or made (now or earlier) by the centre. */
  source: 'files' | 'self-signed';
  certFile: string;
  notAfter: Date;
}

export class CertificateError extends Error {
  override name = 'CertificateError';
}

/** Renew a self-signed certificate this long before its end. */
const RENEW_BEFORE_MS = 30 * 86_400_000;
const SELF_SIGNED_DAYS = 825;

export interface CertificateOptions {
  certFile?: string;
  keyFile?: string;
  /** Where a self-signed certificate is kept (dataDir/tls). */
  dir: string;
  /** Addresses and names the certificate must cover (listen and announced addresses). */
  names: string[];
  now?: () => number;
}

export async function centreCertificate(o: CertificateOptions): Promise<CentreCertificate> {
  const now = o.now ?? Date.now;
  if (o.certFile || o.keyFile) {
    if (!o.certFile || !o.keyFile) throw new CertificateError('a TLS certificate needs both certFile and keyFile');
    return fromFiles(o.certFile, o.keyFile, now());
  }
  const certFile = join(o.dir, 'centre.crt');
  const keyFile = join(o.dir, 'centre.key');
  const names = coveredNames(o.names);
  if (existsSync(certFile) && existsSync(keyFile)) {
    try {
      const kept = fromFiles(certFile, keyFile, now(), 'self-signed');
      const x = new X509Certificate(kept.cert);
      const fresh = kept.notAfter.getTime() - now() > RENEW_BEFORE_MS;
      if (fresh && names.every((n) => (isIP(n) ? x.checkIP(n) : x.checkHost(n)) !== undefined)) return kept;
    } catch {
      // Unreadable or broken: made again below.
    }
  }
  const notBefore = new Date(now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: `callcentre ${hostname()}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: new Date(notBefore.getTime() + SELF_SIGNED_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    ],
  });
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(certFile, pems.cert);
  return fromFiles(certFile, keyFile, now(), 'self-signed');
}

function coveredNames(extra: string[]): string[] {
  const all = ['localhost', '127.0.0.1', hostname(), ...extra];
  return [...new Set(all.filter((n) => n && n !== '0.0.0.0' && n !== '::'))];
}

function fromFiles(certFile: string, keyFile: string, now: number, source: CentreCertificate['source'] = 'files'): CentreCertificate {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(certFile, 'utf8');
    key = readFileSync(keyFile, 'utf8');
  } catch (e) {
    throw new CertificateError(`cannot read the TLS certificate or key: ${e instanceof Error ? e.message : String(e)}`);
  }
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch {
    throw new CertificateError(`${certFile} is not a PEM certificate`);
  }
  let keyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch {
    throw new CertificateError(`${keyFile} is not a PEM private key (or it needs a passphrase)`);
  }
  if (!x.checkPrivateKey(keyObject)) throw new CertificateError(`${keyFile} is not the key of ${certFile}`);
  const notAfter = new Date(x.validTo);
  if (notAfter.getTime() <= now) throw new CertificateError(`${certFile} expired on ${notAfter.toISOString()}`);
  return { cert, key, fingerprint: x.fingerprint256, source, certFile, notAfter };
}
