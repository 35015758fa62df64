/**
 * The transport under the protocol: plain TCP (ws://) or TLS (wss://, RFC 6455 §3, §10.6).
 * A TLSSocket is a net.Socket, so Connection drives either the same way; only opening differs:
 * - client: node:tls with SNI for a host name (RFC 6066 §3), ALPN http/1.1 (RFC 7301; the
 *   opening handshake is an HTTP/1.1 request, §4.1), the system's certificate authorities plus
 *   any given with --ca;
 * - server: a TLS listener with a certificate and its key.
 * Certificate files are hostile input: each is bounded in size, every certificate is parsed,
 * and a key must belong to its certificate. Problems are one plain sentence (TlsConfigError).
 */

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, createServer as createTlsServer, rootCertificates, type SecureContext, type TLSSocket } from 'node:tls';
import type { TlsCertificateInfo } from '../tls-types.ts';
import { ALPN_PROTOCOLS, describeCertificate, sniFor } from './tls-info.ts';

/** A certificate, key or CA file (or PEM text) that cannot be used, in plain words. */
export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

/** No certificate or key file is anywhere near this big; a bigger one is a mistake or an attack. */
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_CERTIFICATES = 1000;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function shown(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path);
}

/** "~/x" is x in the home directory, as a shell would read it (the app's fields get no shell). */
function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

/** Reads a small regular file, or says why not in one sentence. */
export function readSmallFile(name: string, what: string, maxBytes = MAX_FILE_BYTES): Buffer {
  if (name.trim() === '') throw new TlsConfigError(`${what}: the file name is empty.`);
  if (name.includes('\0')) throw new TlsConfigError(`${what}: ${shown(name)} is not a file name.`);
  const path = expandHome(name.trim());
  const tooBig = (size: number) => new TlsConfigError(`${what}: ${shown(name)} is ${size} bytes or more; a certificate or key file is at most ${maxBytes}.`);
  let fd: number | null = null;
  try {
    // Non-blocking, then checked on the open descriptor: a FIFO or a device never blocks us, and
    // a file swapped or grown after the check is still read no further than maxBytes.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new TlsConfigError(`${what}: ${shown(name)} is a folder, not a file.`);
    if (!stat.isFile()) throw new TlsConfigError(`${what}: ${shown(name)} is not a regular file.`);
    if (stat.size > maxBytes) throw tooBig(stat.size);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0;) length += n;
    if (length > maxBytes) throw tooBig(length);
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof TlsConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'not allowed to read it' : code === 'ENOTDIR' ? 'a part of the path is not a folder' : (error as Error).message;
    throw new TlsConfigError(`${what}: cannot read ${shown(name)}: ${why}.`);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * The certificates in PEM text or DER bytes, each parsed (and so checked), as PEM. `label` names
 * the source in messages.
 */
export function parseCertificates(data: Buffer | string, label: string): X509Certificate[] {
  const text = typeof data === 'string' ? data : data.toString('latin1');
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    if (typeof data !== 'string' && data.length > 0 && data[0] === 0x30) {
      // DER: one certificate, binary.
      try {
        return [new X509Certificate(data)];
      } catch {
        // fall through to the plain message
      }
    }
    const key = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) ? ' (it holds a private key: give the certificate instead)' : '';
    throw new TlsConfigError(`${label} holds no certificate${key}: expected PEM (-----BEGIN CERTIFICATE-----) or DER.`);
  }
  if (blocks.length > MAX_CERTIFICATES) throw new TlsConfigError(`${label} holds ${blocks.length} certificates; at most ${MAX_CERTIFICATES} are accepted.`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TlsConfigError(`${label}: certificate ${i + 1} is damaged and cannot be read (${(error as Error).message}).`);
    }
  });
}

/** Is this PEM text rather than a file name? */
export function isPemText(source: string): boolean {
  return source.includes('-----BEGIN ');
}

/**
 * Extra certificate authorities to trust (--ca, the app's CA field): file names or PEM text,
 * each read, bounded and parsed. Returns PEM strings.
 */
export function loadCaCertificates(sources: readonly string[], what = '--ca'): string[] {
  const pems: string[] = [];
  for (const source of sources) {
    const certs = isPemText(source)
      ? parseCertificates(source.length > MAX_FILE_BYTES ? source.slice(0, MAX_FILE_BYTES) : source, `${what} (pasted text)`)
      : parseCertificates(readSmallFile(source, what), `${what} ${shown(source)}`);
    for (const cert of certs) pems.push(cert.toString());
    if (pems.length > MAX_CERTIFICATES) throw new TlsConfigError(`${what}: at most ${MAX_CERTIFICATES} certificates in all.`);
  }
  return pems;
}

/** A server's certificate chain and key, checked to belong together. */
export interface ServerCredentials {
  /** PEM: the server's certificate first, then any intermediates. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** The server's own certificate, described (status, trace). */
  certificate: TlsCertificateInfo;
}

function parseKey(data: Buffer | string, label: string): KeyObject {
  try {
    return createPrivateKey(data);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const text = typeof data === 'string' ? data : data.toString('latin1');
    // PKCS #8 "ENCRYPTED PRIVATE KEY", or the older PEM header "Proc-Type: 4,ENCRYPTED".
    if (code === 'ERR_MISSING_PASSPHRASE' || /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/.test(text)) {
      throw new TlsConfigError(`${label} is encrypted with a passphrase; give an unencrypted key (openssl pkey -in KEY -out plain-key.pem).`);
    }
    const cert = /-----BEGIN CERTIFICATE-----/.test(text) ? ' (it holds a certificate: give the private key)' : '';
    throw new TlsConfigError(`${label} holds no private key we can read${cert}: expected PEM (-----BEGIN PRIVATE KEY-----) or DER.`);
  }
}

/** Certificate chain and key from PEM text (already read), checked. */
export function credentialsFromPem(certPem: string | Buffer, keyPem: string | Buffer, labels: { cert: string; key: string }): ServerCredentials {
  const chain = parseCertificates(certPem, labels.cert);
  const key = parseKey(keyPem, labels.key);
  if (key.type !== 'private') throw new TlsConfigError(`${labels.key} holds a public key; the server needs the private one.`);
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsConfigError(`${labels.key} does not belong to the certificate in ${labels.cert} (the key pair differs): give the key that was made with it.`);
  }
  return {
    cert: chain.map((c) => c.toString()).join(''),
    key: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    certificate: describeCertificate(leaf),
  };
}

/** --cert FILE --key FILE: read, bounded, parsed and checked to belong together. */
export function loadServerCredentials(certPath: string, keyPath: string, flags = { cert: '--cert', key: '--key' }): ServerCredentials {
  const cert = readSmallFile(certPath, flags.cert);
  const key = readSmallFile(keyPath, flags.key);
  return credentialsFromPem(cert, key, { cert: `${flags.cert} ${shown(certPath)}`, key: `${flags.key} ${shown(keyPath)}` });
}

// ------------------------------------------------------------------ trust

/** Where Linux distributions and BSDs keep the system's certificate authorities, one bundle file. */
const systemBundles = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine, Arch
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/ssl/cert.pem', // macOS, the BSDs
];

let systemCas: string[] | null = null;

/**
 * The system's certificate authorities: node's own copy of the Mozilla store, the operating
 * system's bundle (which has the ones an administrator added, e.g. a company CA) and
 * NODE_EXTRA_CA_CERTS. Read once.
 */
export function systemCertificateAuthorities(): string[] {
  if (systemCas) return systemCas;
  const found = [...rootCertificates];
  const extra = process.env['NODE_EXTRA_CA_CERTS'];
  for (const path of [systemBundles.find((p) => isReadableFile(p)), extra].filter((p): p is string => !!p)) {
    try {
      found.push(...(readSmallFile(path, 'CA bundle', 16 * MAX_FILE_BYTES).toString('latin1').match(PEM_CERTIFICATE) ?? []));
    } catch {
      // an unreadable bundle leaves node's own store
    }
  }
  systemCas = found;
  return found;
}

function isReadableFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const contexts = new Map<string, SecureContext>();

/** A client context trusting the system's CAs plus these (cached: building one parses hundreds of certificates). */
export function trustContext(extraCas: readonly string[] = []): SecureContext {
  const cacheKey = extraCas.join('\n');
  let context = contexts.get(cacheKey);
  if (!context) {
    try {
      context = createSecureContext({ ca: [...systemCertificateAuthorities(), ...extraCas], minVersion: 'TLSv1.2' });
    } catch {
      // A system bundle OpenSSL refuses: node's own store and the given CAs (parsed already).
      context = createSecureContext({ ca: [...rootCertificates, ...extraCas], minVersion: 'TLSv1.2' });
    }
    if (contexts.size >= 16) contexts.clear();
    contexts.set(cacheKey, context);
  }
  return context;
}

// ------------------------------------------------------------------ opening

/** A client's TLS settings. */
export interface ClientTlsOptions {
  /** Extra certificate authorities (PEM), trusted on top of the system's (--ca). */
  ca?: readonly string[];
  /**
   * Do not insist on a verified certificate (--insecure). The verdict is still worked out and
   * traced, so the app can show the connection as insecure in red.
   */
  insecure?: boolean;
}

/**
 * Opens the socket under a client connection: TCP for ws://, TLS for wss://. The TLS socket does
 * not reject an unverified certificate by itself: the client judges it on 'secureConnect'
 * (describeClientTls), before a single byte of ours is written, so that a failure can show the
 * chain it was about and be explained.
 */
export function openClientSocket(host: string, port: number, secure: boolean, tls: ClientTlsOptions = {}): Socket | TLSSocket {
  if (!secure) return netConnect({ host, port });
  const servername = sniFor(host);
  return tlsConnect({
    host, port,
    ...(servername ? { servername } : {}),
    ALPNProtocols: ALPN_PROTOCOLS,
    secureContext: trustContext(tls.ca ?? []),
    rejectUnauthorized: false,
  });
}

/**
 * A listener: plain TCP, or TLS with these credentials (the callback gets each socket once its
 * TLS handshake is done). A client that does not finish its TLS handshake within
 * handshakeTimeoutMs is dropped (node's 'tlsClientError').
 */
export function createListener(credentials: ServerCredentials | undefined, handshakeTimeoutMs: number, onSocket: (socket: Socket) => void): Server {
  if (!credentials) return createNetServer(onSocket);
  return createTlsServer({
    cert: credentials.cert, key: credentials.key, ALPNProtocols: ALPN_PROTOCOLS, minVersion: 'TLSv1.2', handshakeTimeout: handshakeTimeoutMs,
  }, onSocket);
}
