/**
 * TLS in plain words: what each field of a TLS connection means, and every failure explained
 * with what to do about it, instead of a bare OpenSSL code. Pure (no node imports): the client,
 * the server, the CLI and the app's TLS panel all use the same sentences.
 */

import type { TlsCertificateInfo, TlsFailure, TlsFailureKind, TlsInfo } from './tls-types.ts';

export type TlsField =
  | 'wss' | 'protocol' | 'cipher' | 'alpn' | 'sni' | 'chain' | 'subject' | 'issuer' | 'subjectAltNames' | 'validity' | 'sha256' | 'verified' | 'insecure';

/** One sentence (or two) per field: what it is and why it matters, with where the rule comes from. */
export const tlsFieldDocs: Record<TlsField, { label: string; meaning: string; reference: string }> = {
  wss: {
    label: 'wss://',
    meaning: 'WebSocket over TLS: the same handshake and frames, inside an encrypted, authenticated channel, port 443 by default. TLS keeps the frames from being read or changed on the way; we are the endpoint, so you still see every frame in clear.',
    reference: 'RFC 6455 §3, §10.6, §11.1.2',
  },
  protocol: {
    label: 'Version',
    meaning: 'The TLS version both sides agreed on. TLS 1.3 and 1.2 are current; older versions have known weaknesses and are refused by browsers and by this app.',
    reference: 'RFC 8446, RFC 8996',
  },
  cipher: {
    label: 'Cipher suite',
    meaning: 'How the bytes are encrypted and authenticated once the handshake is done (for example AES-256 in GCM mode, with SHA-384 for the key schedule). The standard name is the IANA one; OpenSSL sometimes uses another.',
    reference: 'RFC 8446 §B.4',
  },
  alpn: {
    label: 'ALPN',
    meaning: 'Application-Layer Protocol Negotiation: the protocol both sides agreed to speak inside TLS. A WebSocket opening handshake is an HTTP/1.1 request, so it is http/1.1; "none" means the client did not ask.',
    reference: 'RFC 7301, RFC 6455 §4.1',
  },
  sni: {
    label: 'SNI',
    meaning: 'Server Name Indication: the host name the client sends, unencrypted, before the handshake, so that one address can serve several names and pick the right certificate. It is not sent for an IP address.',
    reference: 'RFC 6066 §3',
  },
  chain: {
    label: 'Certificate chain',
    meaning: 'The certificates the peer sent, its own first, then each one\'s signer. A client trusts the first one when the chain of signatures leads to a certificate authority it already trusts.',
    reference: 'RFC 5280 §6',
  },
  subject: {
    label: 'Subject',
    meaning: 'Who the certificate names, often a host name as its common name (CN). Clients check the names (SAN) below, not this one.',
    reference: 'RFC 5280 §4.1.2.6',
  },
  issuer: {
    label: 'Issuer',
    meaning: 'Who signed the certificate and so vouches for it. A self-signed certificate is its own issuer: nobody else vouches for it.',
    reference: 'RFC 5280 §4.1.2.4',
  },
  subjectAltNames: {
    label: 'Names (SAN)',
    meaning: 'The host names and IP addresses the certificate is valid for. The host in the URL must be one of them, or the certificate proves nothing about that server.',
    reference: 'RFC 5280 §4.2.1.6, RFC 6125 §6',
  },
  validity: {
    label: 'Valid',
    meaning: 'The certificate is valid only between these two dates (UTC); clients refuse it before and after.',
    reference: 'RFC 5280 §4.1.2.5',
  },
  sha256: {
    label: 'SHA-256 fingerprint',
    meaning: 'A hash of the whole certificate. Compare it with the one the server\'s owner shows you: if they match, it is the same certificate, whoever signed it.',
    reference: '',
  },
  verified: {
    label: 'Verified',
    meaning: 'Whether the chain leads to a certificate authority this machine trusts (the system\'s, plus any --ca) and the certificate covers the host name. Only then do you know you are talking to that server and not to someone in between.',
    reference: 'RFC 6455 §10.6, RFC 6125',
  },
  insecure: {
    label: 'Insecure',
    meaning: 'Verification was switched off: the connection is encrypted, but to a peer whose identity is unproven. Anyone on the path could have answered in its place and read every frame.',
    reference: 'RFC 6455 §10.6',
  },
};

/** What the failing side's code says, with the facts that make the sentence specific. */
export interface TlsFailureContext {
  /** Our side. */
  role: 'client' | 'server';
  /** Client: the host name we checked the certificate against. */
  host?: string;
  /** The peer's chain (client), if it got that far. */
  peerCertificates?: readonly TlsCertificateInfo[];
  /** Server: our own certificate (for the advice on how to trust it). */
  localCertificate?: TlsCertificateInfo | null;
  /** Server: where the clients connect ("127.0.0.1:9001"). */
  listening?: string;
  /** The error's own message (kept out of the summary unless nothing better is known). */
  message?: string;
  /** Server: the handshake timeout in ms. */
  timeoutMs?: number;
  /** For "expired 3 days ago"; defaults to now. */
  now?: number;
}

const insecureAdvice = 'To look at the traffic anyway, skip verification: --insecure (in the app: "insecure (don\'t verify)"). The connection is then encrypted but the server\'s identity unproven.';

function day(iso: string): string {
  return iso.slice(0, 10);
}

function daysBetween(a: number, b: number): string {
  const days = Math.round(Math.abs(a - b) / 86_400_000);
  return days === 0 ? 'today' : days === 1 ? '1 day' : `${days} days`;
}

function bareNames(cert: TlsCertificateInfo | undefined): string {
  if (!cert || cert.subjectAltNames.length === 0) return 'no host name at all (it has no Subject Alternative Names)';
  const names = cert.subjectAltNames.map((n) => n.replace(/^(DNS|IP):/, ''));
  return names.join(', ') + (cert.moreSubjectAltNames ? ` and ${cert.moreSubjectAltNames} more` : '');
}

/** Client-side certificate problems (OpenSSL's verify codes, and node's host name check). */
const certificateCodes: Record<string, TlsFailureKind> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed-in-chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown-ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown-ca',
  CERT_UNTRUSTED: 'unknown-ca',
  ERR_TLS_CERT_ALTNAME_INVALID: 'name-mismatch',
  HOSTNAME_MISMATCH: 'name-mismatch',
  IP_ADDRESS_MISMATCH: 'name-mismatch',
};

/** The peer refused our certificate (alerts a server receives). */
const rejectedOurCertificate = /ALERT_(CERTIFICATE_UNKNOWN|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)/;
const noCommonGround = /(PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|HANDSHAKE_FAILURE|NO_SHARED_CIPHER|NO_APPLICATION_PROTOCOL|INAPPROPRIATE_FALLBACK|INSUFFICIENT_SECURITY)/;
const notTls = /(WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|RECORD_LAYER_FAILURE|HTTPS_PROXY_REQUEST)/;

/** Classifies an error code (or, for a bare reset, the message) into a kind. */
export function tlsFailureKind(code: string, role: 'client' | 'server', message = ''): TlsFailureKind {
  const certificate = certificateCodes[code];
  if (certificate) return certificate;
  if (code === 'ERR_SSL_HTTP_REQUEST') return 'plain-http';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT' || code === 'ETIMEDOUT' || /TLS handshake timeout/i.test(message)) return 'timeout';
  if (rejectedOurCertificate.test(code)) return role === 'server' ? 'peer-rejected-certificate' : 'handshake-failed';
  if (noCommonGround.test(code)) return 'no-common-protocol';
  if (notTls.test(code)) return 'not-tls';
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up|disconnected before secure TLS/i.test(message)) return 'reset';
  if (/^(CERT_|INVALID_|PATH_LENGTH|UNABLE_TO_DECRYPT|UNABLE_TO_DECODE|ERR_TLS_CERT)/.test(code)) return 'bad-certificate';
  return 'handshake-failed';
}

/** How a person can make a client trust our server's certificate (for the server's failures). */
function howToTrustOurs(ctx: TlsFailureContext): string[] {
  const where = ctx.listening ?? '127.0.0.1:PORT';
  const spki = ctx.localCertificate?.spkiSha256;
  return [
    `A browser: open https://${where}/ once and accept the warning (Chromium), or add an exception for it (Firefox)${spki ? `, or start Chromium with --ignore-certificate-errors-spki-list=${spki}` : ''}.`,
    'wsinspect connect: --ca with the server\'s certificate file (wsinspect serve --tls prints where it is); ws or Node: the ca option; Python: ssl_context.load_verify_locations(that file).',
  ];
}

/** Explains a TLS failure in plain words, with what to do. */
export function explainTlsFailure(code: string, ctx: TlsFailureContext): TlsFailure {
  const kind = tlsFailureKind(code, ctx.role, ctx.message);
  const leaf = ctx.peerCertificates?.[0];
  const root = ctx.peerCertificates?.at(-1);
  const now = ctx.now ?? Date.now();
  const host = ctx.host ?? 'the host';
  const raw = ctx.message ? ` (${code}: ${ctx.message.split('\n')[0]!.slice(0, 200)})` : ` (${code})`;
  const make = (summary: string, explanation: string, advice: string[]): TlsFailure => ({ code, kind, summary, explanation, advice });
  switch (kind) {
    case 'expired': {
      const expired = ctx.peerCertificates?.find((c) => Date.parse(c.validTo) < now) ?? leaf;
      const which = expired && expired !== leaf ? `A certificate in the server's chain (${expired.subject})` : 'The server\'s certificate';
      return make(
        expired ? `${which} expired on ${day(expired.validTo)}, ${daysBetween(now, Date.parse(expired.validTo))} ago.` : `${which} has expired.`,
        'A certificate is valid only between its two dates; after the second, nobody vouches for its key any more, so clients refuse it.',
        ['The server\'s owner must renew the certificate.', 'If this machine\'s clock is wrong, set it right.', insecureAdvice],
      );
    }
    case 'not-yet-valid':
      return make(
        leaf ? `The server's certificate is valid only from ${day(leaf.validFrom)}, ${daysBetween(Date.parse(leaf.validFrom), now)} from now.` : 'The server\'s certificate is not valid yet.',
        'A certificate is valid only between its two dates. A certificate from the future usually means a clock is wrong, here or where it was made.',
        ['Check this machine\'s date and time.', insecureAdvice],
      );
    case 'self-signed':
      return make(
        `The server's certificate is self-signed: it signed itself, so no authority vouches that it belongs to ${host}.`,
        'Anyone can make a self-signed certificate for any name. A client can trust one only if you tell it to, having checked that it is the right one (compare its SHA-256 fingerprint with the one the server shows).',
        [
          `Trust exactly this certificate: save it to a file and pass --ca FILE (in the app: the CA field). For a wsinspect serve --tls server, the file is the localhost-cert.pem it names when it starts.${leaf ? ` Its SHA-256 fingerprint is ${leaf.sha256}.` : ''}`,
          insecureAdvice,
        ],
      );
    case 'self-signed-in-chain':
      return make(
        `The server's chain ends at a root certificate authority that this machine does not trust${root ? `: ${root.subject}` : ''}.`,
        'A client trusts a certificate when its chain of signatures ends at an authority in its trust store (the system\'s certificate authorities, plus any --ca). This root is in neither: a private or company CA, or a test one.',
        ['If you know this CA, trust it: --ca FILE with its certificate (in the app: the CA field).', insecureAdvice],
      );
    case 'unknown-ca':
      return make(
        `The server's certificate was signed by ${leaf ? leaf.issuer : 'a certificate authority'}, which this machine does not know.`,
        'A client trusts a certificate when its chain of signatures leads to an authority in its trust store (the system\'s certificate authorities, plus any --ca). Here the chain stops at an issuer it cannot find: a private or company CA, or a server that does not send its intermediate certificates.',
        [
          'If you know this CA, trust it: --ca FILE with its certificate (in the app: the CA field).',
          'A public server should send its intermediate certificates along with its own; its owner can fix that.',
          insecureAdvice,
        ],
      );
    case 'name-mismatch':
      return make(
        `The certificate does not cover "${host}": it is for ${bareNames(leaf)}.`,
        'A certificate proves who a server is only for the names it lists. A valid certificate for another name could belong to anyone, so clients refuse it.',
        [
          leaf && leaf.subjectAltNames.length > 0 ? `Connect with a name the certificate covers (${bareNames(leaf)}) in the URL.` : 'The server needs a certificate that lists its name.',
          `Or have the server's owner add "${host}" to the certificate.`,
          insecureAdvice,
        ],
      );
    case 'bad-certificate':
      return make(
        `The server's certificate was refused${raw}.`,
        'Its signature, its purpose or its chain did not check out, so it proves nothing about who answered.',
        ['The server\'s owner must fix the certificate.', insecureAdvice],
      );
    case 'plain-http':
      return make(
        'The client sent plain HTTP to this TLS port: it used ws:// (or http://) instead of wss://.',
        'A wss:// server expects a TLS handshake first; a plain request is refused before any WebSocket handshake.',
        [`Connect to wss://${ctx.listening ?? 'HOST:PORT'}/ instead, or start the server without TLS.`],
      );
    case 'peer-rejected-certificate':
      return make(
        'The client refused our certificate: it does not trust it.',
        'Our certificate is self-signed (or signed by an authority the client does not know), so the client cannot tell it from an impostor\'s, and it hung up with a TLS alert.',
        howToTrustOurs(ctx),
      );
    case 'not-tls':
      return ctx.role === 'client'
        ? make(
          'The server did not answer in TLS: it probably speaks plain ws:// (HTTP) on this port.',
          'A wss:// URL starts with a TLS handshake; what came back was not TLS.',
          ['Try ws:// instead of wss://.', 'Check the port: wss:// defaults to 443, ws:// to 80 (RFC 6455 §3).'],
        )
        : make('The client did not speak TLS.', 'This server expects a TLS handshake before anything else.', [`Clients must connect to wss://${ctx.listening ?? 'HOST:PORT'}/.`]);
    case 'no-common-protocol':
      return make(
        `The two sides found no TLS version, cipher suite or ALPN protocol in common${raw}.`,
        'Both sides must support at least one TLS version (1.2 or 1.3 here) and one cipher suite, and agree on http/1.1 if they negotiate ALPN.',
        ctx.role === 'client' ? ['The server may accept only old TLS versions, or only HTTP/2; its owner can check its settings.'] : ['The client may offer only old TLS versions or no http/1.1 in ALPN.'],
      );
    case 'reset':
      return ctx.role === 'client'
        ? make(
          'The server closed the connection during the TLS handshake.',
          'It did not say why: it may not speak TLS on this port, expect another host name (SNI), or refuse our TLS versions.',
          ['Check the port and the scheme (ws:// or wss://).', 'Check the host name in the URL.'],
        )
        : make(
          'The client hung up during the TLS handshake without saying why.',
          'Browsers do that when they do not trust the certificate and nobody has accepted it yet.',
          howToTrustOurs(ctx),
        );
    case 'timeout':
      return make(
        ctx.role === 'client' ? 'The TLS handshake did not complete in time.' : `The client did not finish the TLS handshake${ctx.timeoutMs ? ` within ${ctx.timeoutMs} ms` : ' in time'}.`,
        'A TLS handshake takes a round trip or two; a peer that stops half-way is stuck, or is not speaking TLS.',
        ctx.role === 'client' ? ['Check that the port speaks TLS (wss://).'] : ['Nothing to do unless it keeps happening.'],
      );
    case 'handshake-failed':
    default:
      return make(
        `The TLS handshake failed${raw}.`,
        'The two sides could not set up an encrypted channel, so no WebSocket handshake was attempted.',
        ctx.role === 'client' ? ['Check the URL\'s scheme and port.', insecureAdvice] : ['Look at the client\'s own error for more.'],
      );
  }
}

/** A failure as one line (an error message, a CLI's stderr): what, why, then what to do. */
export function tlsFailureLine(failure: TlsFailure): string {
  return `${failure.summary} ${failure.explanation} ${failure.advice.join(' ')} [${failure.code}]`;
}

/** A one-line summary of a connection's TLS: "TLSv1.3, TLS_AES_256_GCM_SHA384, ALPN http/1.1, SNI localhost". */
export function tlsSummary(info: TlsInfo): string {
  const parts = [
    info.protocol ?? 'no TLS version agreed',
    info.cipher ? info.cipher.standardName || info.cipher.name : null,
    `ALPN ${info.alpn ?? 'none'}`,
    `SNI ${info.sni ?? 'none'}`,
  ];
  return parts.filter(Boolean).join(', ');
}
