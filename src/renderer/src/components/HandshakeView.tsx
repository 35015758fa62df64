import type { HandshakeCheck } from '../../../core/handshake-types.ts';
import type { TracedHead } from '../../../core/trace.ts';
import { requestExtensionCheck, responseExtensionCheck } from '../lib/extension-checks.ts';
import { headerDoc } from '../lib/header-docs.ts';
import { ourResponseChecks } from '../lib/response-head-checks.ts';
import { Why } from './Why.tsx';
import { useInspector, type HandshakeTrace } from '../store/store.ts';
import { ExtensionNegotiation } from './ExtensionNegotiation.tsx';
import { TlsView } from './TlsView.tsx';
import { PeerFactsPanel, SubprotocolWarning, unansweredOffer } from './PeerFacts.tsx';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const latin1 = new TextDecoder('latin1');
// ignoreBOM: the head is shown byte-exact, and so is an error body that starts with EF BB BF.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function CheckMark({ check }: { check: HandshakeCheck | undefined }) {
  if (!check) return <span className="mark none" />;
  if (check.informational) return <span className="mark info" title={check.detail}>i</span>;
  return check.ok ? <span className="mark ok" title={check.detail}>✓</span> : <span className="mark bad" title={check.detail}>✗</span>;
}

/** One HTTP head as received, byte-exact, each line explained and checked. */
function HeadView({ title, head, checks }: { title: string; head: TracedHead | undefined; checks: HandshakeCheck[] }) {
  if (!head) return <section className="head-view"><h3>{title}</h3><p className="hint">Not received yet.</p></section>;
  const text = latin1.decode(head.raw);
  const headEnd = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, headEnd).split('\r\n');
  // The head is octets (latin1 keeps each byte visible); an error body is UTF-8 text.
  const body = utf8.decode(head.raw.subarray(headEnd + 4));
  const status = head.kind === 'response' ? Number(lines[0]?.split(' ')[1]) : 0;
  const startCheck = checks.find((c) => c.rule === 'method') ?? checks.find((c) => c.rule === 'status');
  return (
    <section className="head-view" data-testid={`head-${head.kind}`}>
      <h3>{title} <span className="count">{head.raw.length} bytes</span></h3>
      <div className="head-lines">
        {lines.map((line, i) => {
          if (i === 0) {
            return (
              <div className="head-line start" key={i}>
                <CheckMark check={startCheck} />
                <code>{line}</code>
                <span className="explain">{head.kind === 'request' ? 'Request line: method, target, HTTP version. The handshake is an HTTP/1.1 GET (§4.1).'
                  : status === 101 ? 'Status line: 101 Switching Protocols means the server accepted the upgrade (§4.2.2).'
                  : `Status line: ${status} means the server did not accept the upgrade; the connection stays plain HTTP and the client handles the answer per HTTP, e.g. 401 asks for authentication and a 3xx redirects; nothing requires closing (§4.1).`}</span>
              </div>
            );
          }
          const colon = line.indexOf(':');
          const name = colon > 0 ? line.slice(0, colon) : line;
          const doc = headerDoc(name, head.kind === 'response' ? (status === 101 ? 'response' : 'refusal') : 'upgrade');
          const related = checks.filter((c) => c.header?.toLowerCase() === name.toLowerCase());
          const failed = related.find((c) => !c.ok);
          const check = failed ?? related[0];
          return (
            <div className={`head-line ${failed ? 'bad' : ''}`} key={i} data-header={name.toLowerCase()}>
              <CheckMark check={check} />
              <code><b>{name}</b>{line.slice(name.length)}</code>
              <span className="explain">
                {doc ? <>{doc.meaning} <span className="rfc">{doc.rfcSection}</span></> : <span className="muted">Not part of the WebSocket handshake.</span>}
                {failed && <span className="error-text"> {failed.detail}</span>}
                {name.toLowerCase() === 'origin' && <Why id="origin" />}
              </span>
            </div>
          );
        })}
        <div className="head-line end"><span className="mark none" /><code className="muted">(empty line: CRLF CRLF ends the head)</code></div>
        {body && <pre className="payload small">{body}</pre>}
      </div>
    </section>
  );
}

function AcceptWalkthrough({ handshake }: { handshake: HandshakeTrace }) {
  const accept = handshake.accept;
  if (!accept) return null;
  const onWire = handshake.acceptOnWire ?? (handshake.side === 'server' ? accept.accept : undefined);
  const matches = onWire === accept.accept;
  const sha = accept.sha1Hex.match(/../g) ?? [];
  return (
    <section className="accept" data-testid="accept-walkthrough">
      <h3>How Sec-WebSocket-Accept is computed <span className="rfc">§4.2.2 (5.4), §1.3</span></h3>
      <ol className="steps">
        <li><span className="step-label">Sec-WebSocket-Key</span><code data-testid="accept-key">{accept.key}</code><span className="hint">16 random bytes from the client, in base64</span></li>
        <li><span className="step-label">+ the GUID</span><code className="wrap">{accept.key}<span className="guid">{GUID}</span></code><span className="hint">a fixed string from the RFC, the same for every server</span></li>
        <li><span className="step-label">SHA-1</span><code className="wrap" data-testid="accept-sha1">{sha.join(' ')}</code><span className="hint">20 bytes, shown in hex</span></li>
        <li><span className="step-label">base64</span><code data-testid="accept-value">{accept.accept}</code><span className="hint">the value the server must send back</span></li>
        <li>
          <span className="step-label">on the wire</span>
          <code>{onWire ?? '—'}</code>
          {onWire !== undefined && (matches ? <span className="mark ok">✓ matches</span> : <span className="mark bad">✗ does not match</span>)}
          <span className="hint">{handshake.side === 'server' ? 'what our server sent in its 101 response' : 'what the server sent; the client checks it (§4.1)'}</span>
        </li>
      </ol>
      <Why id="guid" />
      <Why id="key-as-text" />
    </section>
  );
}

function Checklist({ handshake }: { handshake: HandshakeTrace }) {
  return (
    <section className="checklist" data-testid="checklist">
      <h3>Checks ({handshake.side === 'server' ? 'the server checks the request' : 'the client checks the response'})</h3>
      <ul>
        {handshake.checks.map((c) => (
          <li key={c.rule} className={c.ok ? (c.informational ? 'info' : 'ok') : 'bad'} data-rule={c.rule}>
            <CheckMark check={c} />
            <span className="check-label">{c.label}</span>
            <span className="check-detail">{c.detail}</span>
            <span className="rfc">{c.rfcSection}</span>
            {!c.ok && c.status && <span className="tag bad">→ {c.status}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The opening handshake of the selected connection. */
export function HandshakeView() {
  const id = useInspector((s) => s.selectedConnectionId);
  const detail = useInspector((s) => (id ? s.details[id] : undefined));
  if (!detail) return <p className="hint pad">No handshake recorded for this connection.</p>;
  const handshake = detail.handshake;
  const checks = handshake?.checks ?? [];
  // Sec-WebSocket-Extensions gets a ✓/✗ on both heads, worked out from the negotiation; the
  // client's own check of the server's answer stays what it is.
  const offerCheck = requestExtensionCheck(handshake?.extensions);
  const answerCheck = handshake?.side === 'server' ? responseExtensionCheck(handshake.extensions) : null;
  const notExtensions = (c: HandshakeCheck) => c.header?.toLowerCase() !== 'sec-websocket-extensions';
  const requestChecks = [...(handshake?.side === 'server' ? checks.filter(notExtensions) : []), ...(offerCheck ? [offerCheck] : [])];
  // Our server's response gets the checks a client runs on it (§4.1), beside the extension one.
  const responseChecks = handshake?.side === 'client' ? checks
    : [...ourResponseChecks(detail.requestHead, detail.responseHead, handshake?.accept?.accept), ...(answerCheck ? [answerCheck] : [])];
  const agreed = handshake?.extensions?.agreed;
  return (
    <div className="handshake-view" data-testid="handshake-view">
      {/* wss://: TLS comes first, then the opening handshake inside it (RFC 6455 §10.6). */}
      {detail.tls && <TlsView tls={detail.tls.tls} />}
      <PeerFactsPanel />
      {/* Accepted, but a browser would fail it: a warning instead of a green verdict. */}
      {handshake && unansweredOffer(detail, handshake) && <SubprotocolWarning detail={detail} handshake={handshake} />}
      {handshake && !unansweredOffer(detail, handshake) && (
        <div className={`verdict ${handshake.ok ? 'ok' : 'bad'}`} data-testid="handshake-verdict">
          {handshake.ok
            ? `✓ Handshake accepted: 101 Switching Protocols${handshake.subprotocol ? `, subprotocol ${handshake.subprotocol}` : ''}${agreed ? `, ${agreed.name} agreed` : ''}.`
            : `✗ Handshake refused with ${handshake.status}: ${handshake.error?.message ?? ''} (RFC 6455 ${handshake.error?.rfcSection ?? ''})`}
        </div>
      )}
      <div className="heads">
        <HeadView title={handshake?.side === 'client' ? 'Request (sent by this client)' : 'Request (from the client)'} head={detail.requestHead} checks={requestChecks} />
        <HeadView title={handshake?.side === 'client' ? 'Response (from the server)' : 'Response (sent by our server)'} head={detail.responseHead} checks={responseChecks} />
      </div>
      {handshake && <AcceptWalkthrough handshake={handshake} />}
      {handshake?.extensions && <ExtensionNegotiation negotiation={handshake.extensions} side={handshake.side} />}
      {handshake && <Checklist handshake={handshake} />}
      {detail.closed && <p className="hint">Connection closed: {detail.closed.code} — {detail.closed.detail}</p>}
    </div>
  );
}
