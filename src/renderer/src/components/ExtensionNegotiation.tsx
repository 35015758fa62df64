/**
 * The extension negotiation of one opening handshake (RFC 6455 §9.1, RFC 7692 §5, §7): every
 * offer the client made with its parameters, the server's verdict and why; what was agreed,
 * each parameter in plain words with its section; and what that means for each direction.
 * Every explanation is a paraphrase (never shown in quotes), with the section it comes from.
 */
import type { Role, TracedExtensionNegotiation, TracedExtensionOffer, TracedExtensionParam } from '../../../core/trace.ts';
import { directionsInForce, offerParamDoc, zlibWindowNote } from '../lib/deflate-params.ts';
import { Why } from './Why.tsx';

const verdictLabels: Record<TracedExtensionOffer['verdict'], { text: string; className: string }> = {
  accepted: { text: '✓ accepted', className: 'ok' },
  declined: { text: '✗ declined', className: 'bad' },
  'not-chosen': { text: '– not chosen', className: 'muted-tag' },
  unsupported: { text: '✗ not implemented here', className: 'bad' },
};

const paramText = (p: TracedExtensionParam) => (p.value === null ? p.name : `${p.name}=${p.value}`);

/** An element as it reads on the wire: "permessage-deflate; client_max_window_bits". */
function elementText(name: string, params: readonly TracedExtensionParam[]): string {
  return [name, ...params.map(paramText)].join('; ');
}

function OfferItem({ offer }: { offer: TracedExtensionOffer }) {
  const verdict = verdictLabels[offer.verdict];
  const known = offer.name.toLowerCase() === 'permessage-deflate';
  return (
    <li className="offer" data-testid="extension-offer" data-verdict={offer.verdict}>
      <div className="offer-head">
        <span className="offer-rank">offer {offer.index + 1}</span>
        <code>{elementText(offer.name, offer.params)}</code>
        <span className={`tag ${verdict.className}`}>{verdict.text}</span>
      </div>
      <div className="offer-reason">{offer.reason} <span className="rfc">{offer.rfcSection}</span></div>
      {known && offer.params.length > 0 && (
        <table className="param-table">
          <tbody>
            {offer.params.map((p) => {
              const doc = offerParamDoc(p);
              return (
                <tr key={p.name}>
                  <td><code>{paramText(p)}</code></td>
                  <td>{doc.meaning}</td>
                  <td><span className="rfc">{doc.rfcSection}</span></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {known && offer.params.length === 0 && <div className="hint">No parameters: the client accepts the defaults (context takeover both ways, windows of 32,768 bytes). <span className="rfc">RFC 7692 §7.1</span></div>}
    </li>
  );
}

function Agreed({ negotiation, side }: { negotiation: TracedExtensionNegotiation; side: Role }) {
  const agreed = negotiation.agreed;
  if (!agreed) {
    return (
      <p className="hint" data-testid="agreed-extension">
        Nothing agreed: no extension is in use, so every RSV bit must stay 0 and every payload goes as it is. <span className="rfc">RFC 6455 §5.2, §9.1</span>
      </p>
    );
  }
  const settings = agreed.deflate;
  const zlibNote = settings ? zlibWindowNote(settings, side) : null;
  return (
    <>
      <p data-testid="agreed-extension">The server answered <code>{negotiation.response}</code>: {agreed.name} is in use on this connection. <span className="rfc">RFC 7692 §5</span></p>
      <table className="param-table" data-testid="agreed-params">
        <tbody>
          {agreed.params.map((p) => (
            <tr key={p.name} data-param={p.name}>
              <td><code>{p.value === null ? p.name : `${p.name}=${p.value}`}</code></td>
              <td>{p.meaning}</td>
              <td><span className="rfc">{p.rfcSection}</span></td>
            </tr>
          ))}
        </tbody>
      </table>
      {settings && (
        <>
          <h4>In force on this connection</h4>
          <table className="param-table in-force" data-testid="deflate-in-force">
            <tbody>
              {directionsInForce(settings).map((d) => (
                <tr key={d.sender} data-sender={d.sender}>
                  <td>Messages the {d.sender} sends</td>
                  <td>Window {d.window} <span className="rfc">{d.windowSection}</span></td>
                  <td>{d.size} <span className="rfc">{d.sizeSection}</span></td>
                </tr>
              ))}
            </tbody>
          </table>
          {zlibNote && <p className="hint" data-testid="zlib-window-note">{zlibNote} <span className="rfc">RFC 7692 §7.1.2</span></p>}
        </>
      )}
    </>
  );
}

/** Offers, verdicts and the agreement of one handshake. `side`: the endpoint that traced it. */
export function ExtensionNegotiation({ negotiation, side }: { negotiation: TracedExtensionNegotiation; side: Role }) {
  return (
    <section className="extensions" data-testid="extension-negotiation">
      <h3>Extensions: offers and agreement <span className="rfc">RFC 6455 §9.1, RFC 7692 §5</span></h3>
      <p className="hint">
        In plain words: the client lists the extensions it can use, most preferred first, each with parameters; the server takes at most one
        offer of each extension and answers with the parameters that will be in force. An offer the server cannot honour is declined, and the
        handshake goes on without it.
      </p>
      <Why id="extensions" />
      {negotiation.offered === null ? (
        <p className="hint">The client offered no extension.</p>
      ) : (
        <>
          {negotiation.error && <p className="error-text" role="alert">The offered header is malformed: {negotiation.error}. Every offer is declined.</p>}
          <ol className="offers" data-testid="extension-offers">
            {negotiation.offers.map((o) => <OfferItem key={o.index} offer={o} />)}
          </ol>
        </>
      )}
      <h4>Agreed</h4>
      <Agreed negotiation={negotiation} side={side} />
    </section>
  );
}
