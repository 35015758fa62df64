/**
 * Every TLS failure code a person can meet, in plain words with what to do (tls-explain.ts), and
 * the field sentences the app shows.
 */

import { describe, expect, it } from 'vitest';
import { explainTlsFailure, tlsFailureKind, tlsFailureLine, tlsFieldDocs, tlsSummary } from '../../src/core/tls-explain.ts';
import type { TlsCertificateInfo, TlsInfo } from '../../src/core/tls-types.ts';

const cert = (over: Partial<TlsCertificateInfo> = {}): TlsCertificateInfo => ({
  subject: 'CN=example.test', issuer: 'CN=Some CA', subjectAltNames: ['DNS:example.test', 'IP:10.0.0.1'], validFrom: '2026-01-01T00:00:00.000Z',
  validTo: '2026-06-01T00:00:00.000Z', sha256: 'AA:BB', spkiSha256: 'c3BraQ==', serialNumber: '01', selfSigned: false, ca: false, publicKey: 'EC P-256', ...over,
});
const now = Date.parse('2026-06-11T00:00:00.000Z');

describe('tlsFailureKind', () => {
  it.each([
    ['CERT_HAS_EXPIRED', 'client', 'expired'],
    ['CERT_NOT_YET_VALID', 'client', 'not-yet-valid'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'client', 'self-signed'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'client', 'self-signed-in-chain'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'client', 'unknown-ca'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'client', 'unknown-ca'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'client', 'name-mismatch'],
    ['CERT_SIGNATURE_FAILURE', 'client', 'bad-certificate'],
    ['CERT_REVOKED', 'client', 'bad-certificate'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'client', 'not-tls'],
    ['ERR_SSL_PACKET_LENGTH_TOO_LONG', 'client', 'not-tls'],
    ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'client', 'no-common-protocol'],
    ['ERR_SSL_NO_APPLICATION_PROTOCOL', 'client', 'no-common-protocol'],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'client', 'no-common-protocol'],
    ['ECONNRESET', 'client', 'reset'],
    ['ETIMEDOUT', 'client', 'timeout'],
    ['ERR_SSL_HTTP_REQUEST', 'server', 'plain-http'],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', 'server', 'peer-rejected-certificate'],
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'server', 'peer-rejected-certificate'],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'server', 'peer-rejected-certificate'],
    ['ERR_TLS_HANDSHAKE_TIMEOUT', 'server', 'timeout'],
    ['ECONNRESET', 'server', 'reset'],
    ['ERR_SSL_SOMETHING_NEW', 'client', 'handshake-failed'],
  ] as const)('%s (%s) → %s', (code, role, kind) => {
    expect(tlsFailureKind(code, role)).toBe(kind);
  });

  it('a reset without a code is recognised by node\'s message', () => {
    expect(tlsFailureKind('', 'server', 'Client network socket disconnected before secure TLS connection was established')).toBe('reset');
  });
});

describe('explainTlsFailure: specific, plain, with what to do', () => {
  it('expired: the date and how long ago', () => {
    const f = explainTlsFailure('CERT_HAS_EXPIRED', { role: 'client', host: 'example.test', peerCertificates: [cert()], now });
    expect(f.summary).toBe('The server\'s certificate expired on 2026-06-01, 10 days ago.');
    expect(f.advice.join(' ')).toMatch(/clock/);
  });

  it('expired intermediate: names which certificate', () => {
    const f = explainTlsFailure('CERT_HAS_EXPIRED', { role: 'client', peerCertificates: [cert({ validTo: '2027-01-01T00:00:00.000Z' }), cert({ subject: 'CN=Intermediate' })], now });
    expect(f.summary).toContain('A certificate in the server\'s chain (CN=Intermediate) expired on 2026-06-01');
  });

  it('name mismatch: the host and the names the certificate covers', () => {
    const f = explainTlsFailure('ERR_TLS_CERT_ALTNAME_INVALID', { role: 'client', host: 'localhost', peerCertificates: [cert()] });
    expect(f.summary).toBe('The certificate does not cover "localhost": it is for example.test, 10.0.0.1.');
    expect(f.advice[0]).toBe('Connect with a name the certificate covers (example.test, 10.0.0.1) in the URL.');
  });

  it('name mismatch with a certificate of no names', () => {
    const f = explainTlsFailure('ERR_TLS_CERT_ALTNAME_INVALID', { role: 'client', host: 'a', peerCertificates: [cert({ subjectAltNames: [] })] });
    expect(f.summary).toContain('it has no Subject Alternative Names');
  });

  it('self-signed: the fingerprint to compare, --ca and --insecure', () => {
    const f = explainTlsFailure('DEPTH_ZERO_SELF_SIGNED_CERT', { role: 'client', host: '127.0.0.1', peerCertificates: [cert({ selfSigned: true, sha256: '12:34' })] });
    expect(f.summary).toContain('self-signed');
    expect(f.advice.join(' ')).toContain('Its SHA-256 fingerprint is 12:34.');
    expect(f.advice.join(' ')).toContain('--ca FILE');
    expect(f.advice.join(' ')).toContain('--insecure');
  });

  it('unknown CA: names the issuer', () => {
    expect(explainTlsFailure('UNABLE_TO_VERIFY_LEAF_SIGNATURE', { role: 'client', peerCertificates: [cert()] }).summary)
      .toBe('The server\'s certificate was signed by CN=Some CA, which this machine does not know.');
  });

  it('server side: a client that refused our certificate is told how to trust it, with the SPKI hash and the address', () => {
    const f = explainTlsFailure('ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', { role: 'server', localCertificate: cert({ spkiSha256: 'SPKI+hash=' }), listening: '127.0.0.1:9443' });
    expect(f.summary).toBe('The client refused our certificate: it does not trust it.');
    expect(f.advice[0]).toContain('open https://127.0.0.1:9443/ once');
    expect(f.advice[0]).toContain('--ignore-certificate-errors-spki-list=SPKI+hash=');
  });

  it('an unknown code keeps the code and the first line of the message, bounded', () => {
    const f = explainTlsFailure('ERR_SSL_SOMETHING_NEW', { role: 'client', message: `${'x'.repeat(500)}\nsecond line` });
    expect(f.summary).toMatch(/^The TLS handshake failed \(ERR_SSL_SOMETHING_NEW: x{200}\)\.$/);
  });

  it('one line for error messages: summary, why, what to do, [code]', () => {
    const line = tlsFailureLine(explainTlsFailure('ERR_SSL_WRONG_VERSION_NUMBER', { role: 'client' }));
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^The server did not answer in TLS.*Try ws:\/\/ instead of wss:\/\/\..*\[ERR_SSL_WRONG_VERSION_NUMBER\]$/);
  });
});

describe('the field sentences', () => {
  it.each(Object.entries(tlsFieldDocs))('%s has a label and a sentence saying what it is', (_field, doc) => {
    expect(doc.label.length).toBeGreaterThan(0);
    expect(doc.meaning).toMatch(/^[A-Z].{30,}\.$/);
  });

  it('cites the RFC sections where the rules come from', () => {
    expect(tlsFieldDocs.wss.reference).toBe('RFC 6455 §3, §10.6, §11.1.2');
    expect(tlsFieldDocs.sni.reference).toBe('RFC 6066 §3');
    expect(tlsFieldDocs.alpn.reference).toContain('RFC 7301');
  });

  it('tlsSummary', () => {
    const info = { protocol: 'TLSv1.3', cipher: { name: 'x', standardName: 'TLS_AES_128_GCM_SHA256', version: 'TLSv1.3' }, alpn: 'http/1.1', sni: null } as TlsInfo;
    expect(tlsSummary(info)).toBe('TLSv1.3, TLS_AES_128_GCM_SHA256, ALPN http/1.1, SNI none');
  });
});
