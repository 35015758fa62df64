/**
 * The local certificate authority for TLS interception in the forward proxy: made on request
 * (`wsinspect ca create`, or the first `proxy --forward --intercept-tls`), kept in the config
 * directory beside the localhost certificate (<config>/tls/proxy-ca-cert.pem and
 * proxy-ca-key.pem, key mode 0600 in a 0700 folder), removed with `wsinspect ca remove`.
 *
 * It signs one leaf certificate per host name the proxied client asks for (SNI, or the CONNECT
 * host), minted on first use and cached (at most MAX_CACHED leaves). Whoever trusts this CA and
 * holds its key can be shown any site as genuine: the key never leaves this machine, each
 * installation makes its own, and the CA may sign leaves only (pathLenConstraint 0). Name
 * constraints (RFC 5280 §4.2.1.10) cannot help here: the proxy must be able to mint for any host.
 */

import 'reflect-metadata';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { configDirectory, createCertificate, isFile, writePrivate, type CertificatePair } from './certificates.ts';
import { credentialsFromPem, readSmallFile, TlsConfigError } from './transport.ts';
import type { TrustCommand } from '../tls-types.ts';

const DAY = 86_400_000;
/** The CA is good for two years; a leaf for 30 days (well under the 398 days browsers accept). */
const CA_LIFETIME = 2 * 365 * DAY;
const LEAF_LIFETIME = 30 * DAY;
/** Leaves kept in memory (most recently used first out last). */
export const MAX_CACHED = 256;

export interface AuthorityFiles {
  dir: string;
  certPath: string;
  keyPath: string;
}

export function authorityFiles(dir = configDirectory()): AuthorityFiles {
  const tls = join(dir, 'tls');
  return { dir: tls, certPath: join(tls, 'proxy-ca-cert.pem'), keyPath: join(tls, 'proxy-ca-key.pem') };
}

export interface AuthorityDescription {
  subject: string;
  validFrom: string;
  validTo: string;
  /** SHA-256 of the certificate (what trust dialogs show), colon-separated hex. */
  sha256: string;
  /** base64 SHA-256 of the SubjectPublicKeyInfo (Chromium's --ignore-certificate-errors-spki-list). */
  spkiSha256: string;
  certPath: string;
  keyPath: string;
}

export function describeAuthority(certPem: string, files: AuthorityFiles): AuthorityDescription {
  const cert = new X509Certificate(certPem);
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    sha256: cert.fingerprint256,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
    certPath: files.certPath,
    keyPath: files.keyPath,
  };
}

/** The stored CA, or null when there is none; a damaged or expired one is a TlsConfigError saying so. */
export function loadAuthority(files = authorityFiles()): CertificatePair | null {
  if (!isFile(files.certPath) && !isFile(files.keyPath)) return null;
  let pair: CertificatePair;
  try {
    const cert = readSmallFile(files.certPath, 'the proxy CA certificate').toString('latin1');
    const key = readSmallFile(files.keyPath, 'the proxy CA key').toString('latin1');
    credentialsFromPem(cert, key, { cert: files.certPath, key: files.keyPath });
    pair = { cert, key };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new TlsConfigError(`The proxy CA in ${files.dir} cannot be used (${why}); remove it with: wsinspect ca remove`);
  }
  const cert = new X509Certificate(pair.cert);
  if (!cert.ca) throw new TlsConfigError(`${files.certPath} is not a CA certificate; remove it with: wsinspect ca remove`);
  if (Date.parse(cert.validTo) < Date.now() + DAY) throw new TlsConfigError(`The proxy CA expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}; make a new one: wsinspect ca remove, then wsinspect ca create (and trust the new one).`);
  return pair;
}

/** Makes and stores a new CA. Throws TlsConfigError if one exists (remove it first) or the folder cannot be written. */
export async function createAuthority(files = authorityFiles()): Promise<CertificatePair> {
  if (isFile(files.certPath) || isFile(files.keyPath)) throw new TlsConfigError(`A proxy CA exists already in ${files.dir} (wsinspect ca show); remove it first with: wsinspect ca remove`);
  const made = new Date().toISOString().slice(0, 10);
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '').slice(0, 40) || 'this machine';
  const pair = await createCertificate({
    commonName: `WebSocket Inspector proxy CA (${host} ${made})`, ca: true, pathLength: 0, notAfter: new Date(Date.now() + CA_LIFETIME),
  });
  try {
    mkdirSync(files.dir, { recursive: true, mode: 0o700 });
    writePrivate(files.keyPath, pair.key);
    writePrivate(files.certPath, pair.cert);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TlsConfigError(`Cannot keep the proxy CA in ${JSON.stringify(files.dir)} (${code ?? (error as Error).message}).`);
  }
  return pair;
}

/** Deletes the stored CA (both files). Returns whether there was one. */
export function removeAuthority(files = authorityFiles()): boolean {
  const existed = isFile(files.certPath) || isFile(files.keyPath);
  rmSync(files.keyPath, { force: true });
  rmSync(files.certPath, { force: true });
  return existed;
}

/** Mints and caches leaf certificates signed by the CA. */
export class LeafMinter {
  private readonly cache = new Map<string, Promise<CertificatePair>>();

  constructor(private readonly authority: CertificatePair, private readonly maxCached = MAX_CACHED) {}

  get cached(): number {
    return this.cache.size;
  }

  /** The CA's certificate (PEM). */
  get authorityCert(): string {
    return this.authority.cert;
  }

  /** A certificate for this host name or IP address (lower-cased names share one). */
  leafFor(host: string): Promise<CertificatePair> {
    const key = isIP(host) ? host : host.toLowerCase();
    let leaf = this.cache.get(key);
    if (leaf) {
      // Most recently used goes to the end; the oldest is first out.
      this.cache.delete(key);
      this.cache.set(key, leaf);
      return leaf;
    }
    leaf = createCertificate({ commonName: key, names: [key], issuer: this.authority, notAfter: new Date(Date.now() + LEAF_LIFETIME) });
    leaf.catch(() => this.cache.delete(key));
    this.cache.set(key, leaf);
    while (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    return leaf;
  }
}

/** How to trust the CA in each browser and system, as data (the app shows each command with a Copy button). */
export function trustCommands(d: AuthorityDescription): TrustCommand[] {
  const cert = d.certPath;
  return [
    { target: 'Chromium / Chrome (Linux, NSS)', command: `certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "WebSocket Inspector proxy CA" -i ${cert}`, note: `(certutil is in Debian's libnss3-tools); for one test run instead: --ignore-certificate-errors-spki-list=${d.spkiSha256}` },
    { target: 'Firefox', command: null, note: `Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import… ${cert}, tick "Trust this CA to identify websites" (Firefox keeps its own store)` },
    { target: 'Debian / Ubuntu (whole system)', command: `sudo cp ${cert} /usr/local/share/ca-certificates/wsinspect-proxy-ca.crt && sudo update-ca-certificates`, note: '' },
    { target: 'macOS', command: `sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${cert}`, note: '' },
    { target: 'Windows', command: `certutil -addstore -user Root ${cert}`, note: '(or double-click the file, Install Certificate, "Trusted Root Certification Authorities")' },
    { target: 'node / wsinspect connect', command: `NODE_EXTRA_CA_CERTS=${cert}`, note: `or --ca ${cert}` },
  ];
}

/** How to trust the CA, in plain steps: nothing here is done automatically. */
export function trustSteps(d: AuthorityDescription): string[] {
  const [chromium, firefox, debian, macos, windows, node] = trustCommands(d);
  const firefoxNote = firefox!.note.split(', tick ');
  return [
    'To let a client accept the proxy\'s certificates, trust this CA in that client only, and only while you need it:',
    `  ${chromium!.target}:  ${chromium!.command}`,
    `      ${chromium!.note}`,
    `  ${firefox!.target}:  ${firefoxNote[0]},`,
    `      tick ${firefoxNote[1]}`,
    `  ${debian!.target}:  ${debian!.command}`,
    `  ${macos!.target}:  ${macos!.command}`,
    `  ${windows!.target}:  ${windows!.command}   ${windows!.note}`,
    `  ${node!.target}:  ${node!.command}, ${node!.note}`,
  ];
}

/** How to undo each of trustSteps. */
export function untrustSteps(d: AuthorityDescription): string[] {
  return [
    'To stop trusting it:  Chromium: certutil -d sql:$HOME/.pki/nssdb -D -n "WebSocket Inspector proxy CA";  Firefox: Authorities → Delete;',
    '  Debian: sudo rm /usr/local/share/ca-certificates/wsinspect-proxy-ca.crt && sudo update-ca-certificates --fresh;',
    `  macOS: sudo security delete-certificate -Z ${d.sha256.replace(/:/g, '')};  Windows: certutil -delstore -user Root "${d.subject.replace(/^CN=/, '')}"`,
  ];
}

/** The risk, stated plainly. */
export function riskStatement(d: AuthorityDescription): string[] {
  return [
    'The risk: anyone who has this CA\'s key can impersonate any website to a client that trusts it. The key stays in',
    `  ${d.keyPath} (mode 0600); never share it, never trust this CA in a browser you use for anything else,`,
    '  and when done: undo the trust, then wsinspect ca remove (deletes the key, so nothing can be signed with it again).',
  ];
}

/** Everything `ca show` prints after the facts. */
export function trustInstructions(d: AuthorityDescription): string[] {
  return [...trustSteps(d), ...untrustSteps(d), ...riskStatement(d)];
}
