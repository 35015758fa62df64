/**
 * Reads a TLS connection into plain data (src/core/tls-types.ts): version, cipher, ALPN, SNI, the
 * peer's certificate chain and whether it verified, and a failure explained in plain words
 * (src/core/tls-explain.ts). Everything a peer sent is hostile: a certificate can carry thousands
 * of names or a very long subject, so what is kept is bounded.
 */

import { createHash, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { explainTlsFailure, type TlsFailureContext } from '../tls-explain.ts';
import type { TlsCertificateInfo, TlsInfo } from '../tls-types.ts';

/** The WebSocket opening handshake is an HTTP/1.1 request (RFC 6455 §4.1): that is what ALPN offers (RFC 7301). */
export const ALPN_PROTOCOLS = ['http/1.1'];

/** At most this many certificates of a chain, names per certificate, and characters of a name. */
const MAX_CHAIN = 10;
const MAX_NAMES = 100;
const MAX_TEXT = 512;

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

/** node prints a distinguished name one attribute per line ("C=FR\nCN=x"): one line, most specific last. */
function oneLine(dn: string): string {
  return clip(dn.split('\n').filter(Boolean).join(', '));
}

/** An IPv6 address as people write it ("::1", not node's "0:0:0:0:0:0:0:1"). */
function compactIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}

/**
 * node's subjectAltName string ("DNS:a, IP Address:1.2.3.4"; values with a comma are quoted)
 * as a list: "DNS:a", "IP:1.2.3.4".
 */
export function parseSubjectAltNames(text: string | undefined): { names: string[]; more: number } {
  const names: string[] = [];
  let more = 0;
  if (!text) return { names, more };
  const entry = /(DNS|IP Address|email|URI|othername|DirName|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  let match: RegExpExecArray | null;
  while ((match = entry.exec(text)) !== null && match[0].length > 0) {
    if (names.length >= MAX_NAMES) {
      more++;
      continue;
    }
    const kind = match[1] === 'IP Address' ? 'IP' : match[1]!;
    let value = match[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        // keep it quoted
      }
    }
    names.push(clip(`${kind}:${kind === 'IP' ? compactIp(value) : value}`));
  }
  return { names, more };
}

function describeKey(cert: X509Certificate): string {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve;
      const names: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
      return `EC ${curve ? names[curve] ?? curve : ''}`.trim();
    }
    case 'rsa':
    case 'rsa-pss':
      return `${key.asymmetricKeyType.toUpperCase()}${details.modulusLength ? ` ${details.modulusLength} bits` : ''}`;
    default:
      return key.asymmetricKeyType?.toUpperCase() ?? 'unknown';
  }
}

/** base64 SHA-256 of the certificate's SubjectPublicKeyInfo (Chromium's --ignore-certificate-errors-spki-list). */
export function spkiSha256(cert: X509Certificate): string {
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

/** Whether the certificate signed itself: its issuer is its subject and its own key verifies it. */
function isSelfSigned(cert: X509Certificate): boolean {
  if (cert.issuer !== cert.subject) return false;
  try {
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

export function describeCertificate(cert: X509Certificate): TlsCertificateInfo {
  const { names, more } = parseSubjectAltNames(cert.subjectAltName);
  const iso = (text: string) => {
    const time = Date.parse(text);
    return Number.isFinite(time) ? new Date(time).toISOString() : text;
  };
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    subjectAltNames: names,
    ...(more ? { moreSubjectAltNames: more } : {}),
    validFrom: iso(cert.validFrom),
    validTo: iso(cert.validTo),
    sha256: cert.fingerprint256,
    spkiSha256: spkiSha256(cert),
    serialNumber: clip(cert.serialNumber),
    selfSigned: isSelfSigned(cert),
    ca: cert.ca,
    publicKey: describeKey(cert),
  };
}

/** The peer's chain, its own certificate first (node links each certificate to its issuer; a root links to itself). */
export function peerChain(socket: TLSSocket): TlsCertificateInfo[] {
  const chain: TlsCertificateInfo[] = [];
  let cert: DetailedPeerCertificate | undefined;
  try {
    cert = socket.getPeerCertificate(true);
  } catch {
    return chain;
  }
  const seen = new Set<string>();
  while (cert && cert.raw && chain.length < MAX_CHAIN && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    try {
      chain.push(describeCertificate(new X509Certificate(cert.raw)));
    } catch {
      break; // a certificate node could not parse: stop there rather than guess
    }
    cert = cert.issuerCertificate;
  }
  return chain;
}

function connectionBasics(socket: TLSSocket): Pick<TlsInfo, 'protocol' | 'cipher' | 'alpn'> {
  const cipher = socket.getCipher?.();
  return {
    protocol: socket.getProtocol?.() ?? null,
    cipher: cipher ? { name: cipher.name, standardName: cipher.standardName ?? cipher.name, version: cipher.version } : null,
    alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null,
  };
}

/** Server Name Indication is sent only for a host name, never for an IP address (RFC 6066 §3). */
export function sniFor(host: string): string | undefined {
  return isIP(host) ? undefined : host;
}

export interface ClientTlsContext {
  /** The host name the certificate must cover. */
  host: string;
  insecure: boolean;
  extraCaCount: number;
}

/**
 * A client's TLS once its handshake is done ('secureConnect'). The socket was opened without
 * rejecting (so the chain can be shown even when it fails); this is where it is judged: node has
 * checked the chain against our trusted CAs and the name (RFC 6125) and left the verdict in
 * authorized / authorizationError.
 */
export function describeClientTls(socket: TLSSocket, ctx: ClientTlsContext): TlsInfo {
  const peerCertificates = peerChain(socket);
  const sni = sniFor(ctx.host) ?? null;
  const info: TlsInfo = {
    role: 'client', ok: true, verified: socket.authorized, insecure: ctx.insecure, ...connectionBasics(socket),
    alpnOffered: ALPN_PROTOCOLS, sni, host: ctx.host, peerCertificates, localCertificate: null,
    ...(ctx.extraCaCount ? { extraCaCount: ctx.extraCaCount } : {}),
  };
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'UNABLE_TO_VERIFY');
    info.failure = explainTlsFailure(code, { role: 'client', host: ctx.host, peerCertificates, message: nameMismatchReason(socket, ctx.host, code) });
    info.ok = ctx.insecure;
  }
  return info;
}

/** For a name mismatch, node's own reason ("Host: x. is not in the cert's altnames: …"). */
function nameMismatchReason(socket: TLSSocket, host: string, code: string): string | undefined {
  if (code !== 'ERR_TLS_CERT_ALTNAME_INVALID') return undefined;
  try {
    return checkServerIdentity(host, socket.getPeerCertificate())?.message;
  } catch {
    return undefined;
  }
}

/** A client's TLS that failed before its handshake completed (an 'error' before 'secureConnect'). */
export function describeClientTlsError(error: NodeJS.ErrnoException, ctx: ClientTlsContext): TlsInfo {
  return {
    role: 'client', ok: false, verified: false, insecure: ctx.insecure, protocol: null, cipher: null, alpn: null,
    alpnOffered: ALPN_PROTOCOLS, sni: sniFor(ctx.host) ?? null, host: ctx.host, peerCertificates: [], localCertificate: null,
    ...(ctx.extraCaCount ? { extraCaCount: ctx.extraCaCount } : {}),
    failure: explainTlsFailure(error.code ?? 'ERR_TLS', { role: 'client', host: ctx.host, message: error.message }),
  };
}

/** A server connection's TLS once the handshake is done. */
export function describeServerTls(socket: TLSSocket, local: TlsCertificateInfo | null): TlsInfo {
  return {
    role: 'server', ok: true, verified: null, insecure: false, ...connectionBasics(socket),
    alpnOffered: ALPN_PROTOCOLS,
    sni: typeof socket.servername === 'string' && socket.servername ? clip(socket.servername) : null,
    peerCertificates: peerChain(socket), localCertificate: local,
  };
}

/**
 * A client whose TLS handshake with our server failed (the server's 'tlsClientError'). sni: the
 * name the client sent in its ClientHello, if it got that far (node keeps it on the failed socket).
 */
export function describeServerTlsError(error: NodeJS.ErrnoException, ctx: Omit<TlsFailureContext, 'role' | 'message'>, sni: string | null = null): TlsInfo {
  return {
    role: 'server', ok: false, verified: null, insecure: false, protocol: null, cipher: null, alpn: null,
    alpnOffered: ALPN_PROTOCOLS, sni: sni ? clip(sni) : null, peerCertificates: [], localCertificate: ctx.localCertificate ?? null,
    failure: explainTlsFailure(error.code ?? 'ERR_TLS', { ...ctx, role: 'server', message: error.message }),
  };
}

