import { useState } from 'react';
import { RFC_EXAMPLES, rfcExampleBytes, rfcExampleHex, rfcFrameBytes, type RfcExample } from '../../../core/rfc-examples.ts';
import type { Role } from '../../../core/trace.ts';
import { api } from '../bridge.ts';
import { bytesToHex, formFromBytes, type FrameForm } from '../lib/frame-form.ts';
import { rfcExampleSendFrames } from '../lib/rfc-example-send.ts';
import { useInspector } from '../store/store.ts';
import './rfc-examples.css';

interface Props {
  /** Crafter: load one of an example's frames into the form. Without it, examples open in the byte stepper. */
  onLoad?: (form: FrameForm, what: string) => void;
}

/**
 * The RFC examples gallery (RFC 6455 §1.2/§1.3 and §5.7, RFC 7692 §7.2.3), byte-exact, from
 * src/core/rfc-examples.ts: open one in the byte stepper (with its receiver role and deflate
 * switch) or load its frames into the crafter, and send its payload to the selected live peer.
 */
export function RfcExamples({ onLoad }: Props) {
  const connection = useInspector((s) => s.status?.connections.find((c) => c.id === s.selectedConnectionId));
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  // Folds away once an example is opened, so the stepper or crafter below shows it.
  const [expanded, setExpanded] = useState(false);
  const role: Role = connection?.role ?? 'server';
  const open = connection?.state === 'OPEN';
  const deflateAgreed = useInspector((s) => s.details[s.selectedConnectionId ?? '']?.handshake?.extensions?.agreed?.deflate !== undefined);

  const step = (e: RfcExample) => {
    setExpanded(false);
    useInspector.getState().byteStep({ hex: bytesToHex(rfcExampleBytes(e)), role: e.receiver, deflate: e.deflate, label: `${e.rfc} ${e.section}: ${e.title}` });
  };

  // Our side sends a fresh frame carrying each frame's payload (lib/rfc-example-send.ts).
  const send = async (e: RfcExample) => {
    if (!connection) return;
    for (const frame of rfcExampleSendFrames(e, role)) {
      const r = await api.craft({ connectionId: connection.id, frame });
      if (!r.ok) {
        setResult({ ok: false, text: r.error });
        return;
      }
    }
    setResult({ ok: true, text: `Sent "${e.title}" (${e.frames.length} frame${e.frames.length === 1 ? '' : 's'}${e.deflate ? ', the RFC\'s DEFLATE bytes' : ''}) to ${role === 'server' ? 'the client' : 'the server'}${role === 'client' ? ', masked with a fresh key as a client must' : ', unmasked as a server must'}.` });
  };

  return (
    <details className="rfc-examples" data-testid="rfc-examples" open={expanded} onToggle={(ev) => setExpanded(ev.currentTarget.open)}>
      <summary>RFC examples <span className="muted">— every example in RFC 6455 and RFC 7692 §7.2.3, byte-exact</span></summary>
      <p className="hint">
        {onLoad ? 'Load a frame into the fields as the RFC prints it (its mask bit and key included).' : 'Step an example with the receiver it was written for (a server reads masked frames, a client unmasked ones) and permessage-deflate as it needs.'}{' '}
        {open ? `Send sends its payload as fresh frames from our side (${role === 'client' ? 'masked with a fresh random key: we are the client' : 'unmasked: we are the server'}), not the RFC's bytes; an RFC 7692 example goes as the RFC's DEFLATE bytes with RSV1, on a connection that agreed permessage-deflate.` : 'Sending needs an open connection.'}
      </p>
      <table className="rfc-example-table">
        <tbody>
          {RFC_EXAMPLES.map((e) => (
            <tr key={e.id} data-testid={`rfc-example-${e.id}`}>
              <td className="rfc rfc-example-where">{e.rfc} {e.section}</td>
              <td>
                <b>{e.title}</b>
                <div className="mono small">{rfcExampleHex(e)}</div>
                <div className="muted small">{e.shows} {e.frames.length > 0 && <>Read by a {e.receiver}{e.deflate ? ', permessage-deflate agreed' : ''}.</>}</div>
                {e.note && <div className="muted small" data-testid={`rfc-note-${e.id}`}>{e.note}</div>}
              </td>
              <td className="rfc-example-actions">
                {e.frames.length === 0 ? <span className="muted small">two HTTP heads, not frames: nothing to step</span> : onLoad ? e.frames.map((fr, i) => (
                  <button key={i} className="chip" onClick={() => { onLoad(formFromBytes(rfcFrameBytes(fr)), `${e.rfc} ${e.section}: ${e.title}`); setResult(null); setExpanded(false); }} data-testid={`rfc-load-${e.id}-${i + 1}`}>
                    Load{e.frames.length > 1 ? ` frame ${i + 1}` : ''}
                  </button>
                )) : <button className="chip" onClick={() => step(e)} data-testid={`rfc-step-${e.id}`}>Step</button>}
                {e.frames.length > 0 && (
                  <button className="chip" onClick={() => void send(e)} disabled={!open || (e.deflate && !deflateAgreed)}
                    title={e.deflate && !deflateAgreed ? 'Needs permessage-deflate agreed on this connection: RSV1 means nothing without it (RFC 6455 §5.2)'
                      : e.deflate ? `Send the RFC's DEFLATE bytes with RSV1, ${role === 'client' ? 'masked' : 'unmasked'}; our compressor then starts its next message with an empty window` : `Send its payload as a fresh frame${e.frames.length > 1 ? 's' : ''}, ${role === 'client' ? 'masked' : 'unmasked'}`}
                    data-testid={`rfc-send-${e.id}`}>Send</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {result && <p className={result.ok ? 'ok-text' : 'error-text'} role={result.ok ? 'status' : 'alert'} data-testid="rfc-send-result">{result.text}</p>}
    </details>
  );
}
