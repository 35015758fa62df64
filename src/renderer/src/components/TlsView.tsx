import type { ReactNode } from 'react';
import { tlsFieldDocs, type TlsField } from '../../../core/tls-explain.ts';
import type { TlsCertificateInfo, TlsInfo } from '../../../core/tls-types.ts';

/** One field: its name, its value, and a sentence on what it is and why it matters. */
function Field({ field, children, explain = true }: { field: TlsField; children: ReactNode; explain?: boolean }) {
  const doc = tlsFieldDocs[field];
  return (
    <div className="tls-field" data-tls-field={field}>
      <span className="tls-label" title={explain ? undefined : doc.meaning}>{doc.label}</span>
      <span className="tls-value">{children}</span>
      <span className="tls-explain">
        {explain ? <>{doc.meaning} {doc.reference && <span className="rfc">{doc.reference}</span>}</> : null}
      </span>
    </div>
  );
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

/** One certificate of a chain; the first card explains each field, the others keep it in a tooltip. */
function CertificateCard({ cert, title, explain }: { cert: TlsCertificateInfo; title: string; explain: boolean }) {
  const now = Date.now();
  const expired = Date.parse(cert.validTo) < now;
  const early = Date.parse(cert.validFrom) > now;
  return (
    <div className="tls-cert" data-testid="tls-certificate">
      <h4>
        {title}
        {cert.selfSigned && <span className="tag warn">self-signed</span>}
        {cert.ca && <span className="tag">CA</span>}
        {expired && <span className="tag bad">expired</span>}
        {early && <span className="tag bad">not yet valid</span>}
        <span className="muted tls-key">{cert.publicKey}</span>
      </h4>
      <Field field="subject" explain={explain}><code>{cert.subject}</code></Field>
      <Field field="issuer" explain={explain}><code>{cert.selfSigned ? `${cert.issuer} (itself)` : cert.issuer}</code></Field>
      <Field field="subjectAltNames" explain={explain}>
        {cert.subjectAltNames.length === 0 ? <span className="error-text">none</span> : (
          <span className="tls-names">
            {cert.subjectAltNames.map((n) => <code key={n}>{n}</code>)}
            {cert.moreSubjectAltNames ? <span className="muted">and {cert.moreSubjectAltNames} more</span> : null}
          </span>
        )}
      </Field>
      <Field field="validity" explain={explain}>
        <code className={expired || early ? 'error-text' : ''}>{day(cert.validFrom)} → {day(cert.validTo)}</code>
      </Field>
      <Field field="sha256" explain={explain}><code className="tls-fingerprint" data-testid="tls-fingerprint">{cert.sha256}</code></Field>
    </div>
  );
}

/** The verdict, first: verified (green), insecure (red), failed (red, explained), or our server's side. */
function Verdict({ tls }: { tls: TlsInfo }) {
  const failure = tls.failure;
  if (failure && !tls.ok) {
    return (
      <div className="verdict bad tls-verdict" data-testid="tls-verdict" data-kind={failure.kind}>
        <div>✗ TLS failed: {failure.summary}</div>
        <p className="tls-why">{failure.explanation}</p>
        <ul className="tls-advice">{failure.advice.map((a) => <li key={a}>{a}</li>)}</ul>
        <span className="muted mono">{failure.code}</span>
      </div>
    );
  }
  if (tls.insecure && !tls.verified) {
    return (
      <div className="verdict bad tls-verdict tls-insecure" data-testid="tls-verdict" data-kind="insecure">
        <div>⚠ Insecure: the server&apos;s certificate was not verified, because you chose &quot;insecure (don&apos;t verify)&quot;.</div>
        <p className="tls-why">{tlsFieldDocs.insecure.meaning}{failure ? ` What verification would have said: ${failure.summary}` : ''}</p>
      </div>
    );
  }
  if (tls.role === 'client') {
    return (
      <div className="verdict ok tls-verdict" data-testid="tls-verdict" data-kind="verified">
        ✓ Encrypted and verified: the certificate chain leads to an authority this machine trusts, and it covers &quot;{tls.host}&quot;.
      </div>
    );
  }
  return (
    <div className="verdict ok tls-verdict" data-testid="tls-verdict" data-kind="server">
      ✓ Encrypted: our server presented the certificate below. Clients are not asked for one, so nothing is verified on this side.
    </div>
  );
}

/** A connection's TLS (wss://): version, cipher, ALPN, SNI, the chain, each explained, and failures explained. */
export function TlsView({ tls }: { tls: TlsInfo }) {
  const chainTitle = tls.role === 'client' ? 'The server\'s certificate chain' : 'The client\'s certificate';
  return (
    <section className="tls-view" data-testid="tls-view">
      <h3>TLS: the encrypted channel under the handshake <span className="rfc">{tlsFieldDocs.wss.reference}</span></h3>
      <p className="hint">{tlsFieldDocs.wss.meaning}</p>
      <Verdict tls={tls} />
      {tls.protocol && (
        <div className="tls-fields" data-testid="tls-fields">
          <Field field="protocol"><code>{tls.protocol}</code></Field>
          <Field field="cipher">
            <code>{tls.cipher?.standardName ?? '—'}</code>
            {tls.cipher && tls.cipher.name !== tls.cipher.standardName && <span className="muted"> (OpenSSL: {tls.cipher.name})</span>}
          </Field>
          <Field field="alpn"><code>{tls.alpn ?? 'none'}</code> <span className="muted">{tls.role === 'client' ? 'we offered' : 'we accept'} {tls.alpnOffered.join(', ')}</span></Field>
          <Field field="sni">
            <code>{tls.sni ?? 'none'}</code>{' '}
            <span className="muted">{tls.role === 'client' ? (tls.sni ? 'sent by us' : 'not sent: the URL names an IP address') : tls.sni ? 'sent by the client' : 'the client sent none'}</span>
          </Field>
          {tls.role === 'client' && (
            <Field field="verified">
              {tls.verified ? <span className="ok-text">✓ yes</span> : <span className="error-text">✗ no</span>}
              {tls.extraCaCount ? <span className="muted"> (with {tls.extraCaCount} extra CA certificate{tls.extraCaCount === 1 ? '' : 's'})</span> : null}
            </Field>
          )}
        </div>
      )}
      {tls.peerCertificates.length > 0 && (
        <>
          <h3>{chainTitle} <span className="count">{tls.peerCertificates.length}</span> <span className="rfc">{tlsFieldDocs.chain.reference}</span></h3>
          <p className="hint">{tlsFieldDocs.chain.meaning}</p>
          <div className="tls-chain">
            {tls.peerCertificates.map((cert, i) => (
              <CertificateCard key={`${cert.sha256}:${i}`} cert={cert} explain={i === 0} title={i === 0 ? (tls.role === 'client' ? 'Server certificate' : 'Client certificate') : `Signed by #${i + 1}`} />
            ))}
          </div>
        </>
      )}
      {tls.localCertificate && (
        <>
          <h3>Our certificate</h3>
          <div className="tls-chain">
            <CertificateCard cert={tls.localCertificate} explain={tls.peerCertificates.length === 0} title="Presented by our server" />
          </div>
        </>
      )}
    </section>
  );
}
