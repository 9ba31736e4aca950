import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, describe, expect, it } from 'vitest';
import { centreCertificate, CertificateError } from '../../../server/secrets/certificate.ts';

const dir = mkdtempSync(join(tmpdir(), 'cc-cert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the centre certificate', () => {
  it('is made once, kept across starts, and made again when an address it must name is new', async () => {
    const tls = join(dir, 'tls');
    const first = await centreCertificate({ dir: tls, names: ['127.0.0.1'] });
    expect(first.source).toBe('self-signed');
    const again = await centreCertificate({ dir: tls, names: ['127.0.0.1'] });
    expect(again.fingerprint).toBe(first.fingerprint);
    const moved = await centreCertificate({ dir: tls, names: ['192.0.2.10', 'cc.example.org'] });
    expect(moved.fingerprint).not.toBe(first.fingerprint);
    const x = new X509Certificate(moved.cert);
    expect(x.checkIP('192.0.2.10')).toBe('192.0.2.10');
    expect(x.checkHost('cc.example.org')).toBe('cc.example.org');
    // Renewed when its end is near (30 days): 800 days on, the 825-day certificate is replaced.
    const later = await centreCertificate({ dir: tls, names: ['192.0.2.10'], now: () => Date.now() + 800 * 86_400_000 });
    expect(later.fingerprint).not.toBe(moved.fingerprint);
  });

  it("reads the admin's files and refuses a key that is not the certificate's, an expired one, or half a pair", async () => {
    const a = await generate([{ name: 'commonName', value: 'a' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
    const b = await generate([{ name: 'commonName', value: 'b' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
    const certFile = join(dir, 'a.crt');
    writeFileSync(certFile, a.cert);
    writeFileSync(join(dir, 'a.key'), a.private);
    writeFileSync(join(dir, 'b.key'), b.private);
    const ok = await centreCertificate({ certFile, keyFile: join(dir, 'a.key'), dir: '', names: [] });
    expect(ok.source).toBe('files');
    expect(ok.cert).toBe(readFileSync(certFile, 'utf8'));
    await expect(centreCertificate({ certFile, keyFile: join(dir, 'b.key'), dir: '', names: [] })).rejects.toThrow(/is not the key of/);
    await expect(centreCertificate({ certFile, dir: '', names: [] })).rejects.toThrow(CertificateError);
    await expect(centreCertificate({ certFile: join(dir, 'none.crt'), keyFile: join(dir, 'a.key'), dir: '', names: [] })).rejects.toThrow(
      /cannot read/,
    );
    const tenYears = () => Date.now() + 3650 * 86_400_000;
    await expect(centreCertificate({ certFile, keyFile: join(dir, 'a.key'), dir: '', names: [], now: tenYears })).rejects.toThrow(
      /expired/,
    );
  });
});
