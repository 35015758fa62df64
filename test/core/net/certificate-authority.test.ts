import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { authorityFiles, createAuthority, describeAuthority, LeafMinter, loadAuthority, removeAuthority, trustInstructions } from '../../../src/core/net/certificate-authority.ts';
import { TlsConfigError } from '../../../src/core/net/transport.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsinspect-ca-'));
  dirs.push(dir);
  return dir;
}

describe('the local CA for TLS interception', () => {
  it('is made once, kept with its key at 0600 in a 0700 folder, loaded back, and removed', async () => {
    const files = authorityFiles(tempConfig());
    expect(loadAuthority(files)).toBeNull();
    const made = await createAuthority(files);
    expect(statSync(files.keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(files.dir).mode & 0o777).toBe(0o700);
    await expect(createAuthority(files)).rejects.toThrow(/exists already/);
    expect(loadAuthority(files)).toEqual(made);
    const ca = new X509Certificate(made.cert);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toMatch(/WebSocket Inspector proxy CA/);
    const d = describeAuthority(made.cert, files);
    expect(d.sha256).toBe(ca.fingerprint256);
    expect(d.spkiSha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const text = trustInstructions(d).join('\n');
    for (const where of ['certutil -d sql:', 'Firefox', 'update-ca-certificates', 'security add-trusted-cert', 'certutil -addstore', 'wsinspect ca remove', d.spkiSha256]) expect(text).toContain(where);
    expect(removeAuthority(files)).toBe(true);
    expect(loadAuthority(files)).toBeNull();
    expect(removeAuthority(files)).toBe(false);
  });

  it('a damaged CA file is one sentence that says how to get rid of it', async () => {
    const files = authorityFiles(tempConfig());
    await createAuthority(files);
    writeFileSync(files.certPath, 'not a certificate');
    expect(() => loadAuthority(files)).toThrow(TlsConfigError);
    expect(() => loadAuthority(files)).toThrow(/wsinspect ca remove/);
  });

  it('mints leaves the CA signed, for a name or an IP, cached and bounded; the CA signs leaves only (pathLen 0)', async () => {
    const files = authorityFiles(tempConfig());
    const authority = await createAuthority(files);
    const ca = new X509Certificate(authority.cert);
    const minter = new LeafMinter(authority, 3);
    const leaf = new X509Certificate((await minter.leafFor('Echo.Example.org')).cert);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.checkHost('echo.example.org')).toBe('echo.example.org');
    expect(leaf.ca).toBe(false);
    // RFC 5280 §4.2.1.3: keyCertSign only where cA is asserted.
    const leafUsage = new x509.X509Certificate((await minter.leafFor('echo.example.org')).cert).getExtension(x509.KeyUsagesExtension)!.usages;
    expect(leafUsage & x509.KeyUsageFlags.keyCertSign).toBe(0);
    expect(leafUsage & x509.KeyUsageFlags.digitalSignature).not.toBe(0);
    const ip = new X509Certificate((await minter.leafFor('127.0.0.1')).cert);
    expect(ip.checkIP('127.0.0.1')).toBe('127.0.0.1');
    // Cached: the same name gives the same certificate.
    expect(await minter.leafFor('echo.example.org')).toBe(await minter.leafFor('ECHO.example.org'));
    await minter.leafFor('a.test');
    await minter.leafFor('b.test');
    expect(minter.cached).toBe(3);
    // pathLenConstraint 0 (RFC 5280 §4.2.1.9): in the basicConstraints extension of the CA.
    const constraints = new x509.X509Certificate(authority.cert).getExtension(x509.BasicConstraintsExtension)!;
    expect(constraints.ca).toBe(true);
    expect(constraints.pathLength).toBe(0);
  });
});
