/**
 * What a TLS connection looked like, as plain serialisable data: the trace's 'tls' event, the CLI's
 * summary and the app's TLS panel all read this. Kept apart from src/core/net/tls-info.ts (which
 * needs node:tls and node:crypto) so that the renderer can use it through the trace.
 *
 * RFC 6455 §3 and §11.1.2: a wss:// URI is a WebSocket over TLS, port 443 by default; §10.6: TLS
 * keeps the frames from being read or changed on the way. We are the endpoint, so the inspector
 * sees every frame in clear before encryption and after decryption.
 */

/** One certificate of a chain, described field by field. */
export interface TlsCertificateInfo {
  /** Who the certificate names, e.g. "CN=localhost, O=Example". */
  subject: string;
  /** Who signed it (the subject itself for a self-signed certificate). */
  issuer: string;
  /** The names it is valid for (Subject Alternative Names), e.g. ["DNS:localhost", "IP:127.0.0.1"]. */
  subjectAltNames: string[];
  /** SANs beyond those listed (a certificate can carry thousands; only the first are kept). */
  moreSubjectAltNames?: number;
  /** Validity period, ISO 8601 (UTC). */
  validFrom: string;
  validTo: string;
  /** SHA-256 of the DER certificate, "AB:CD:…" (what browsers show as the fingerprint). */
  sha256: string;
  /** base64 SHA-256 of the public key (SPKI): what Chromium's --ignore-certificate-errors-spki-list takes. */
  spkiSha256: string;
  serialNumber: string;
  /** Issued and signed by itself (its own key verifies its signature). */
  selfSigned: boolean;
  /** A CA certificate (basicConstraints CA:TRUE): it may sign other certificates. */
  ca: boolean;
  /** The key, e.g. "EC P-256" or "RSA 2048 bits". */
  publicKey: string;
}

/** What kind of TLS failure, for the UI's wording and the tests. */
export type TlsFailureKind =
  | 'expired' | 'not-yet-valid' | 'self-signed' | 'self-signed-in-chain' | 'unknown-ca' | 'name-mismatch' | 'bad-certificate'
  | 'not-tls' | 'plain-http' | 'peer-rejected-certificate' | 'no-common-protocol' | 'handshake-failed' | 'reset' | 'timeout';

/** A TLS failure in plain words, with what to do about it. */
export interface TlsFailure {
  /** The error code from OpenSSL or node (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, …). */
  code: string;
  kind: TlsFailureKind;
  /** One short sentence: what is wrong. */
  summary: string;
  /** Why it matters, in a sentence or two. */
  explanation: string;
  /** What the user can do, one item each (command-line flags and app fields named). */
  advice: string[];
}

export interface TlsCipher {
  /** OpenSSL's name. */
  name: string;
  /** The IANA (RFC) name. */
  standardName: string;
  /** The lowest TLS version the cipher suite works with. */
  version: string;
}

/** One TLS connection, from our side (the 'tls' trace event). */
export interface TlsInfo {
  /** Which side we are. */
  role: 'client' | 'server';
  /** The TLS handshake completed (and, for a client, we went on: verified or told to be insecure). */
  ok: boolean;
  /**
   * Client: the server's chain leads to a CA we trust and its certificate covers the host name.
   * Server: null (we do not ask clients for certificates).
   */
  verified: boolean | null;
  /** Client: verification was switched off (--insecure); the peer's identity is unproven. */
  insecure: boolean;
  /** "TLSv1.3", or null if the handshake did not get that far. */
  protocol: string | null;
  cipher: TlsCipher | null;
  /** The protocol agreed by ALPN (RFC 7301), "http/1.1"; null when none was agreed. */
  alpn: string | null;
  /** What this side offers (client) or accepts (server) by ALPN. */
  alpnOffered: string[];
  /** Server Name Indication (RFC 6066 §3). Client: what we sent (none for an IP address); server: what the client sent. */
  sni: string | null;
  /** Client: the host name the certificate was checked against. */
  host?: string;
  /** The peer's certificate chain, its own certificate first (empty when it sent none). */
  peerCertificates: TlsCertificateInfo[];
  /** Server: the certificate we presented. */
  localCertificate: TlsCertificateInfo | null;
  /** Client: how many certificates were trusted on top of the system's (--ca). */
  extraCaCount?: number;
  failure?: TlsFailure;
}

/** One place to trust the proxy's local CA (net/certificate-authority.ts): where, the command to copy (null: done in a settings window), and what else to know. */
export interface TrustCommand {
  target: string;
  command: string | null;
  note: string;
}
