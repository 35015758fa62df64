/**
 * The generated localhost certificate (where it lives, its modes, reuse and renewal) and the
 * certificate, key and CA files a person gives (every one hostile until parsed).
 */

import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configDirectory, createCertificate, LOCAL_NAMES, localCertificate, type CertificatePair } from '../../../src/core/net/certificates.ts';
import { loadCaCertificates, loadServerCredentials, readSmallFile, TlsConfigError } from '../../../src/core/net/transport.ts';

const DAY = 86_400_000;
let dir: string;
let pair: CertificatePair;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsi-certs-'));
  pair = await createCertificate({ commonName: 'files.test', names: ['files.test'] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('configDirectory', () => {
  it.each([
    ['linux', { XDG_CONFIG_HOME: '/x/cfg' }, '/x/cfg/websocket-inspector'],
    ['linux', {}, '/home/u/.config/websocket-inspector'],
    ['linux', { XDG_CONFIG_HOME: 'relative/cfg' }, '/home/u/.config/websocket-inspector'], // XDG: a relative path is ignored
    ['freebsd', { XDG_CONFIG_HOME: '/x/cfg' }, '/x/cfg/websocket-inspector'],
    ['darwin', { XDG_CONFIG_HOME: '/x/cfg' }, '/home/u/Library/Application Support/websocket-inspector'],
  ])('%s %j → %s', (platform, env, expected) => {
    expect(configDirectory(env, platform, '/home/u')).toBe(expected);
  });

  it('win32: %APPDATA%\\websocket-inspector', () => {
    expect(configDirectory({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toMatch(/Roaming[\\/]websocket-inspector$/);
  });
});

describe('localCertificate: the self-signed certificate for localhost', () => {
  it('is made on first use: localhost, 127.0.0.1 and ::1, files 0600 in a 0700 folder, key and certificate a pair', async () => {
    const config = join(dir, 'first');
    const local = await localCertificate(config);
    expect(local.generated).toBe('first use');
    expect(local.certPath).toBe(join(config, 'tls', 'localhost-cert.pem'));
    expect(statSync(local.keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(local.certPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(config, 'tls')).mode & 0o777).toBe(0o700);
    const cert = new X509Certificate(readFileSync(local.certPath));
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(local.certificate).toMatchObject({ selfSigned: true, ca: false, publicKey: 'EC P-256', subjectAltNames: ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'] });
    expect(Date.parse(local.certificate.validTo) - Date.now()).toBeGreaterThan(300 * DAY);
    expect(LOCAL_NAMES).toEqual(['localhost', '127.0.0.1', '::1']);
  });

  it('is reused while valid (same fingerprint), and a key file opened to others is put back to 0600', async () => {
    const config = join(dir, 'reuse');
    const first = await localCertificate(config);
    chmodSync(first.keyPath, 0o644);
    const second = await localCertificate(config);
    expect(second.generated).toBeNull();
    expect(second.certificate.sha256).toBe(first.certificate.sha256);
    expect(statSync(second.keyPath).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['expired', async (tls: string) => {
      const old = await createCertificate({ commonName: 'old', names: ['localhost', '127.0.0.1', '::1'], notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
      writeFileSync(join(tls, 'localhost-cert.pem'), old.cert);
      writeFileSync(join(tls, 'localhost-key.pem'), old.key);
    }, /expired on \d{4}-\d\d-\d\d/],
    ['damaged', async (tls: string) => writeFileSync(join(tls, 'localhost-cert.pem'), 'not a certificate'), /could not be used/],
    ['another certificate\'s key', async (tls: string) => writeFileSync(join(tls, 'localhost-key.pem'), pair.key), /does not belong/],
    ['for other names', async (tls: string) => {
      writeFileSync(join(tls, 'localhost-cert.pem'), pair.cert);
      writeFileSync(join(tls, 'localhost-key.pem'), pair.key);
    }, /does not cover localhost/],
  ])('is made again when the stored one is %s', async (_label, spoil, reason) => {
    const config = join(dir, `renew-${Math.random().toString(36).slice(2)}`);
    const first = await localCertificate(config);
    await spoil(join(config, 'tls'));
    const again = await localCertificate(config);
    expect(again.generated).toMatch(reason);
    expect(again.certificate.sha256).not.toBe(first.certificate.sha256);
    expect(Date.parse(again.certificate.validTo)).toBeGreaterThan(Date.now());
    expect(statSync(again.keyPath).mode & 0o777).toBe(0o600);
  });

  it('a config folder that cannot be written: one plain sentence', async () => {
    const blocker = file('not-a-folder', 'x');
    await expect(localCertificate(blocker)).rejects.toThrow(TlsConfigError);
    await expect(localCertificate(blocker)).rejects.toThrow(/Cannot keep the generated certificate in .* --cert FILE --key FILE/);
  });
});

describe('createCertificate (the library, @peculiar/x509)', () => {
  it('makes a CA and a certificate it signed, which node verifies', async () => {
    const ca = await createCertificate({ commonName: 'Test CA', ca: true });
    const leaf = await createCertificate({ commonName: 'a.test', names: ['a.test', '10.0.0.1'], issuer: ca });
    const caCert = new X509Certificate(ca.cert);
    const leafCert = new X509Certificate(leaf.cert);
    expect(caCert.ca).toBe(true);
    expect(leafCert.ca).toBe(false);
    expect(leafCert.checkIssued(caCert)).toBe(true);
    expect(leafCert.verify(caCert.publicKey)).toBe(true);
    expect(leafCert.subjectAltName).toBe('DNS:a.test, IP Address:10.0.0.1');
    expect(leafCert.issuer).toBe('CN=Test CA');
    // Serial numbers are random and positive (RFC 5280 §4.1.2.2).
    expect(parseInt(leafCert.serialNumber.slice(0, 2), 16)).toBeLessThan(0x80);
    expect(leafCert.serialNumber).not.toBe(caCert.serialNumber);
  });

  it('it is a server certificate (serverAuth), and openssl reads it too when installed', async () => {
    const cert = new X509Certificate(pair.cert);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // node lists the extended key usages: serverAuth
    let text: string;
    try {
      text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: pair.cert, encoding: 'utf8' });
    } catch {
      return; // no openssl binary: node's own parser above has read it
    }
    expect(text).toContain('Subject: CN = files.test');
    expect(text).toContain('DNS:files.test');
    expect(text).toMatch(/TLS Web Server Authentication/);
  });
});

describe('certificate, key and CA files: hostile input, plain sentences', () => {
  it('reads PEM (several certificates) and DER', () => {
    const pem = file('two.pem', pair.cert + pair.cert);
    expect(loadCaCertificates([pem])).toHaveLength(2);
    const der = file('one.der', new X509Certificate(pair.cert).raw);
    expect(loadCaCertificates([der])).toEqual([new X509Certificate(pair.cert).toString()]);
    expect(loadCaCertificates([pair.cert])).toHaveLength(1); // pasted PEM text
  });

  it.each([
    ['a missing file', () => join(dir, 'nope.pem'), /^--ca: cannot read ".*nope\.pem": no such file\.$/],
    ['a folder', () => dir, /is a folder, not a file\.$/],
    ['an empty file', () => file('empty.pem', ''), /holds no certificate: expected PEM \(-----BEGIN CERTIFICATE-----\) or DER\.$/],
    ['a private key', () => file('key-as-ca.pem', pair.key), /holds no certificate \(it holds a private key: give the certificate instead\)/],
    ['a damaged certificate', () => file('damaged.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), /certificate 1 is damaged and cannot be read/],
    ['a huge file', () => file('huge.pem', Buffer.alloc(1024 * 1024 + 1, 0x41)), /is 1048577 bytes or more; a certificate or key file is at most 1048576\.$/],
    ['an empty name', () => '', /the file name is empty/],
    ['a name with NUL', () => 'a\0b', /is not a file name/],
  ])('--ca with %s', (_label, make, message) => {
    const source = make();
    expect(() => loadCaCertificates([source])).toThrow(TlsConfigError);
    expect(() => loadCaCertificates([source])).toThrow(message);
  });

  it('a FIFO is refused without blocking', () => {
    const fifo = join(dir, 'fifo');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return; // no mkfifo here
    }
    expect(() => readSmallFile(fifo, '--ca')).toThrow(/is not a regular file/);
  });

  it('--cert and --key that belong together are read and described', () => {
    const creds = loadServerCredentials(file('ok-cert.pem', pair.cert), file('ok-key.pem', pair.key));
    expect(creds.certificate.subject).toBe('CN=files.test');
    expect(creds.key).toContain('-----BEGIN PRIVATE KEY-----');
  });

  it.each([
    ['a key of another certificate', async () => [file('c1.pem', pair.cert), file('k2.pem', (await createCertificate({ commonName: 'other' })).key)], /does not belong to the certificate in --cert/],
    ['the certificate as the key', async () => [file('c2.pem', pair.cert), file('k3.pem', pair.cert)], /holds no private key we can read \(it holds a certificate: give the private key\)/],
    ['the key as the certificate', async () => [file('c3.pem', pair.key), file('k4.pem', pair.key)], /holds no certificate \(it holds a private key/],
    ['an encrypted key', async () => {
      const { createPrivateKey } = await import('node:crypto');
      const encrypted = createPrivateKey(pair.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string;
      return [file('c4.pem', pair.cert), file('k5.pem', encrypted)];
    }, /is encrypted with a passphrase; give an unencrypted key/],
    ['a missing key file', async () => [file('c5.pem', pair.cert), join(dir, 'missing-key.pem')], /^--key: cannot read ".*missing-key\.pem": no such file\.$/],
  ])('--cert/--key: %s', async (_label, make, message) => {
    const [cert, key] = await make();
    expect(() => loadServerCredentials(cert!, key!)).toThrow(message);
  });

  it('"~/" is the home directory', () => {
    const home = mkdtempSync(join(tmpdir(), 'wsi-home-'));
    const previous = process.env['HOME'];
    try {
      mkdirSync(join(home, 'certs'));
      writeFileSync(join(home, 'certs', 'ca.pem'), pair.cert);
      process.env['HOME'] = home;
      expect(loadCaCertificates(['~/certs/ca.pem'])).toHaveLength(1);
    } finally {
      process.env['HOME'] = previous;
      rmSync(home, { recursive: true, force: true });
    }
  });
});
