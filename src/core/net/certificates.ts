/**
 * Certificates for the embedded wss:// server: a self-signed one for localhost, made on first use
 * and kept in the user's config directory, and a general `createCertificate` (self-signed, or
 * signed by a CA given as PEM) that the tests use for expired, wrong-name and unknown-CA
 * certificates, and that a local CA minting per-host certificates can build on.
 *
 * Made with @peculiar/x509 (X.509 in TypeScript over WebCrypto; node's own crypto can parse and
 * verify certificates but not create them). ECDSA P-256 keys: small, fast, accepted everywhere.
 */

import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it loaded first
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { credentialsFromPem, readSmallFile, TlsConfigError, type ServerCredentials } from './transport.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const signing = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface CertificateOptions {
  /** The subject's common name (CN). */
  commonName: string;
  /** Host names and IP addresses it is valid for (Subject Alternative Names). */
  names?: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
  /** A certificate authority (may sign others). */
  ca?: boolean;
  /** A CA: how many CAs may stand below it (RFC 5280 §4.2.1.9 pathLenConstraint; 0: it signs only leaves). */
  pathLength?: number;
  /** Signed by this CA (PEM, ECDSA P-256 key); without it, self-signed. */
  issuer?: { cert: string; key: string };
}

export interface CertificatePair {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS #8). */
  key: string;
}

/** A positive serial number of 128 random bits (RFC 5280 §4.1.2.2: positive, at most 20 octets). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function pem(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Makes a certificate and its key. */
export async function createCertificate(options: CertificateOptions): Promise<CertificatePair> {
  const keys = await webcrypto.subtle.generateKey(signing, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const ca = options.ca ?? false;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(ca, ca ? options.pathLength : undefined, true),
    // keyCertSign on a self-signed leaf too: OpenSSL treats a certificate as self-issued only
    // when its key may sign certificates, and a self-signed leaf is its own trust anchor. Not on a
    // leaf a CA signed (RFC 5280 §4.2.1.3: keyCertSign only where cA is asserted).
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (ca || !options.issuer ? x509.KeyUsageFlags.keyCertSign : 0) | (ca ? x509.KeyUsageFlags.cRLSign : 0), true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (!ca) extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false));
  if (options.names?.length) {
    extensions.push(new x509.SubjectAlternativeNameExtension(options.names.map((name) => ({ type: isIP(name) ? 'ip' as const : 'dns' as const, value: name }))));
  }
  const notBefore = options.notBefore ?? new Date(Date.now() - DAY);
  const notAfter = options.notAfter ?? new Date(Date.now() + 365 * DAY);
  const name = `CN=${options.commonName.replace(/[,+="\\<>;#]/g, '\\$&')}`;
  let cert: x509.X509Certificate;
  if (options.issuer) {
    const issuerCert = new x509.X509Certificate(options.issuer.cert);
    const der = createPrivateKey(options.issuer.key).export({ type: 'pkcs8', format: 'der' });
    const issuerKey = await webcrypto.subtle.importKey('pkcs8', der, signing, false, ['sign']);
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerCert));
    cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(), subject: name, issuer: issuerCert.subject, notBefore, notAfter,
      publicKey: keys.publicKey, signingKey: issuerKey, signingAlgorithm: signing, extensions,
    });
  } else {
    cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(), name, notBefore, notAfter, keys, signingAlgorithm: signing, extensions,
    });
  }
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { cert: pem(cert.toString('pem')), key: pem(key) };
}

// ------------------------------------------------------------------ the local certificate

/** The names the generated certificate covers: loopback, however the user writes it. */
export const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'] as const;

/**
 * Where the app keeps its settings: $XDG_CONFIG_HOME/websocket-inspector (default
 * ~/.config/websocket-inspector) on Linux and the BSDs, ~/Library/Application Support/websocket-inspector
 * on macOS, %APPDATA%\websocket-inspector on Windows.
 */
export function configDirectory(env: Record<string, string | undefined> = process.env, platform: string = process.platform, home = homedir()): string {
  const app = 'websocket-inspector';
  if (platform === 'win32') return join(env['APPDATA'] || join(home, 'AppData', 'Roaming'), app);
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', app);
  const xdg = env['XDG_CONFIG_HOME'];
  // The XDG spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.config'), app);
}

export interface LocalCertificate extends ServerCredentials {
  certPath: string;
  keyPath: string;
  /** Made now (first use, or the old one had expired or was unusable), and why. */
  generated: string | null;
}

/** Regenerate when less than this is left: a certificate that expires mid-session is no help. */
const RENEW_BEFORE = DAY;

/** Writes a file only we can read (0600), atomically: a reader never sees half of it. */
export function writePrivate(path: string, text: string): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
  chmodSync(temp, 0o600); // whatever the umask said
  renameSync(temp, path);
}

/** The stored pair, or why it cannot be used (then a new one is made). */
function readStored(certPath: string, keyPath: string): { problem: string } | { credentials: ServerCredentials } {
  let credentials: ServerCredentials;
  try {
    credentials = credentialsFromPem(readSmallFile(certPath, 'certificate'), readSmallFile(keyPath, 'key'), { cert: certPath, key: keyPath });
  } catch (error) {
    const missing = !isFile(certPath) && !isFile(keyPath);
    return { problem: missing ? 'first use' : `the stored one could not be used (${(error as Error).message})` };
  }
  const validTo = Date.parse(credentials.certificate.validTo);
  if (!(validTo - Date.now() > RENEW_BEFORE)) return { problem: `the stored one expired on ${credentials.certificate.validTo.slice(0, 10)}` };
  if (Date.parse(credentials.certificate.validFrom) > Date.now()) return { problem: 'the stored one is not valid yet (was the clock changed?)' };
  const leaf = new X509Certificate(credentials.cert);
  if (!LOCAL_NAMES.every((name) => (isIP(name) ? leaf.checkIP(name) : leaf.checkHost(name)))) return { problem: 'the stored one does not cover localhost, 127.0.0.1 and ::1' };
  return { credentials };
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The self-signed certificate for localhost, 127.0.0.1 and ::1 (wsinspect serve --tls, the app's
 * TLS switch): the stored one, or a new one made now when there is none or it has expired (or is
 * unusable). Files: <config>/tls/localhost-cert.pem and localhost-key.pem, mode 0600 in a 0700
 * folder. Throws TlsConfigError (one sentence) when the folder cannot be written.
 */
export async function localCertificate(dir = configDirectory()): Promise<LocalCertificate> {
  const tlsDir = join(dir, 'tls');
  const certPath = join(tlsDir, 'localhost-cert.pem');
  const keyPath = join(tlsDir, 'localhost-key.pem');
  const stored = readStored(certPath, keyPath);
  if ('credentials' in stored) {
    // A key file someone made readable to others is put back to 0600.
    try {
      if ((statSync(keyPath).mode & 0o077) !== 0) chmodSync(keyPath, 0o600);
    } catch {
      // reading it worked; the mode is advice
    }
    return { ...stored.credentials, certPath, keyPath, generated: null };
  }
  const pair = await createCertificate({ commonName: 'WebSocket Inspector (localhost)', names: LOCAL_NAMES, notAfter: new Date(Date.now() + 365 * DAY) });
  try {
    mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
    writePrivate(keyPath, pair.key);
    writePrivate(certPath, pair.cert);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TlsConfigError(`Cannot keep the generated certificate in ${JSON.stringify(tlsDir)} (${code ?? (error as Error).message}); give one with --cert FILE --key FILE instead.`);
  }
  return { ...credentialsFromPem(pair.cert, pair.key, { cert: certPath, key: keyPath }), certPath, keyPath, generated: stored.problem };
}
