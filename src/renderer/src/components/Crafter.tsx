import { useMemo, useState } from 'react';
import { frameAnatomy } from '../../../core/fields.ts';
import type { Role } from '../../../core/trace.ts';
import { api } from '../bridge.ts';
import { opensCompressedMessage } from '../lib/compression-facts.ts';
import { emptyForm, encodeForm, ruleChecks, type FrameForm } from '../lib/frame-form.ts';
import { useInspector } from '../store/store.ts';
import { BitDiagram, FieldTable, HexDump } from './AnatomyParts.tsx';
import { CompressionSummary, CompressSwitch, useCompressedPayload } from './CrafterCompression.tsx';
import { FrameFieldsEditor, RuleList } from './FrameFieldsEditor.tsx';
import { RfcExamples } from './RfcExamples.tsx';
import { CraftReaction } from './CraftReaction.tsx';

interface QuickFill {
  label: string;
  rfc: string;
  make: (role: Role) => Partial<FrameForm>;
}

const text = (payloadText: string): Partial<FrameForm> => ({ payloadMode: 'text', payloadText });
const hex = (payloadHex: string): Partial<FrameForm> => ({ payloadMode: 'hex', payloadHex });

/** Classic invalid frames, one click each (plus a valid one to start from). */
const quickFills: QuickFill[] = [
  { label: 'Valid text "Hello"', rfc: '§5.6', make: () => ({ ...text('Hello') }) },
  { label: 'Reserved opcode 0x3', rfc: '§5.2', make: () => ({ opcode: 3, ...text('what am I?') }) },
  { label: 'RSV1 set', rfc: '§5.2', make: () => ({ rsv1: true, ...text('reserved bit') }) },
  { label: 'Wrong mask bit for the role', rfc: '§5.1', make: (role) => ({ masked: role !== 'client', ...text('wrongly masked') }) },
  { label: 'Non-minimal length', rfc: '§5.2', make: () => ({ lengthEncoding: '16-bit', ...text('Hello') }) },
  { label: 'Length mismatch', rfc: '§5.2', make: () => ({ declaredLength: '3', ...text('Hello') }) },
  { label: 'Ping > 125 bytes', rfc: '§5.5', make: () => ({ opcode: 9, ...text('a'.repeat(126)) }) },
  { label: 'Fragmented ping', rfc: '§5.5', make: () => ({ opcode: 9, fin: false, ...text('half') }) },
  { label: 'Invalid UTF-8', rfc: '§8.1', make: () => ({ ...hex('61 c0 af 62') }) },
  { label: 'Bad close code 1005', rfc: '§7.4.1', make: () => ({ opcode: 8, ...hex('03 ed') }) },
  { label: 'Close 1000 (valid)', rfc: '§5.5.1', make: () => ({ opcode: 8, ...hex('03 e8 62 79 65') }) },
];

/** With permessage-deflate agreed (RFC 7692): a compressed message, and the compressed bit where it may not go. */
const deflateQuickFills: QuickFill[] = [
  { label: 'Compressed text "Hello"', rfc: 'RFC 7692 §7.2.3.1', make: () => ({ compress: true, rsv1: true, ...text('Hello') }) },
  { label: 'RSV1 on a ping', rfc: 'RFC 7692 §6.1', make: () => ({ opcode: 9, rsv1: true, ...text('ping') }) },
];

/** Builds any frame, valid or not, previews its bytes, and sends it in the TCP writes you choose. */
export function Crafter() {
  const connection = useInspector((s) => s.status?.connections.find((c) => c.id === s.selectedConnectionId));
  const role: Role = connection?.role ?? 'server';
  const deflateAgreed = useInspector((s) => s.details[s.selectedConnectionId ?? '']?.handshake?.extensions?.agreed?.deflate !== undefined);
  const [form, setForm] = useState<FrameForm>(() => emptyForm(role));
  const [writes, setWrites] = useState('');
  const [delay, setDelay] = useState('0');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [sending, setSending] = useState(false);
  /** When the last crafted frame left (this window's clock, a little early): the reaction is what came after. */
  const [sentAt, setSentAt] = useState<number | null>(null);
  const compressed = useCompressedPayload(connection?.id, form);
  const draft = useMemo(() => encodeForm(form, compressed.bytes), [form, compressed.bytes]);
  const anatomy = useMemo(() => ('bytes' in draft ? frameAnatomy(draft.bytes, { compressed: opensCompressedMessage(draft.bytes[0], deflateAgreed) }) : null), [draft, deflateAgreed]);
  const checks = useMemo(() => ruleChecks(form, role, { deflate: deflateAgreed }), [form, role, deflateAgreed]);
  if (!connection) return null;

  const sizes = writes.split(/[\s,]+/).filter(Boolean).map(Number);
  const sizesOk = sizes.every((n) => Number.isInteger(n) && n > 0);
  const delayMs = Number(delay);
  const delayOk = Number.isInteger(delayMs) && delayMs >= 0 && delayMs <= 60_000;
  const total = 'bytes' in draft ? draft.bytes.length : 0;
  const plan = sizesOk ? describeWrites(sizes, total) : '';
  const peer = role === 'server' ? `the client at ${connection.remote}` : 'the server';

  const send = async () => {
    if (!('fields' in draft) || !sizesOk || !delayOk) return;
    setSending(true);
    setSentAt(Date.now() - 20);
    const r = await api.craft({ connectionId: connection.id, frame: draft.fields, ...(sizes.length ? { writes: sizes } : {}), ...(delayMs ? { delayMs } : {}) });
    setSending(false);
    setResult(r.ok ? { ok: true, text: `Sent ${r.hex.length / 2} bytes: ${spaced(r.hex).slice(0, 96)}${r.hex.length > 64 ? ' …' : ''}` } : { ok: false, text: r.error });
  };

  return (
    <div className="crafter" data-testid="crafter">
      <RfcExamples onLoad={(f) => { setForm(f); setResult(null); }} />
      <section className="quick-fills" aria-label="Quick fills">
        <span className="field-label">Classic frames:</span>
        {[...quickFills, ...(deflateAgreed ? deflateQuickFills : [])].map((q) => (
          <button key={q.label} className="chip" onClick={() => { setForm({ ...emptyForm(role), ...q.make(role) }); setResult(null); }} title={q.rfc}>{q.label}</button>
        ))}
      </section>
      <div className="crafter-grid">
        <div className="editor-column">
          <h3>Fields</h3>
          <p className="hint">Sent from {role === 'server' ? 'the embedded server' : 'this client'} to {peer}. {role === 'server' ? 'A server never masks (§5.1).' : 'A client masks every frame (§5.3).'} Nothing stops you from breaking a rule here: that is the point.</p>
          <FrameFieldsEditor
            form={form} onChange={(f) => { setForm(f); setResult(null); }} withLength
            extra={<CompressSwitch form={form} agreed={deflateAgreed} onChange={(f) => { setForm(f); setResult(null); }} />}
          />
          <h3>What the receiver should do</h3>
          <RuleList checks={checks} />
          <h3>TCP delivery</h3>
          <div className="editor-row">
            <label className="field grow">
              <span>Write sizes (bytes)</span>
              <input className="input mono" value={writes} onChange={(e) => setWrites(e.target.value)} placeholder="e.g. 1,1,2 (empty: one write)" aria-label="Write sizes" />
            </label>
            <label className="field">
              <span>Delay between writes (ms)</span>
              <input className="input mono narrow" value={delay} onChange={(e) => setDelay(e.target.value)} aria-label="Delay between writes (ms)" inputMode="numeric" />
            </label>
          </div>
          <p className="hint">{!sizesOk ? <span className="error-text">Write sizes are whole numbers of bytes, e.g. 1,1,2.</span> : !delayOk ? <span className="error-text">The delay is 0 to 60000 ms.</span> : plan} TCP is a byte stream: the receiver must reassemble the frame however it is cut.</p>
          <button className="button primary" onClick={() => void send()} disabled={!('fields' in draft) || !sizesOk || !delayOk || connection.state !== 'OPEN' || sending} data-testid="craft-send">
            {sending ? 'Sending…' : `Send ${total} bytes to ${role === 'server' ? 'the client' : 'the server'}`}
          </button>
          {connection.state !== 'OPEN' && <p className="hint">The connection is {connection.state}: nothing can be sent. Connect a new peer.</p>}
          {result && <p className={result.ok ? 'ok-text' : 'error-text'} role={result.ok ? 'status' : 'alert'} data-testid="craft-result">{result.text}</p>}
        </div>
        <div>
          {/* Beside the fields, above the preview: where the eye is after pressing Send. */}
          {result?.ok && sentAt !== null && <CraftReaction connectionId={connection.id} sentAt={sentAt} />}
          <h3>Preview: the bytes that will go on the wire</h3>
          {form.compress && <CompressionSummary state={compressed} />}
          {'error' in draft ? (compressed.error ? null : <p className={form.compress && !compressed.bytes ? 'hint' : 'error-text'} role="alert">{draft.error}</p>) : anatomy && (
            <>
              <BitDiagram anatomy={anatomy} />
              <HexDump bytes={draft.bytes} anatomy={anatomy} testId="craft-preview" />
              {anatomy.needs && <p className="hint">As the receiver decodes it, the frame {anatomy.needs}: it will wait for bytes that never come.</p>}
              <details className="field-details">
                <summary>Field table</summary>
                <FieldTable anatomy={anatomy} />
              </details>
            </>
          )}
        </div>
      </div>
    </div>
  );
}

function spaced(hexText: string): string {
  return hexText.replace(/(..)(?!$)/g, '$1 ');
}

function describeWrites(sizes: number[], total: number): string {
  if (sizes.length === 0) return `One write of ${total} bytes.`;
  const parts: number[] = [];
  let at = 0;
  for (const s of sizes) {
    if (at >= total) break;
    parts.push(Math.min(s, total - at));
    at += s;
  }
  if (at < total) parts.push(total - at);
  return `${parts.length} writes: ${parts.join(' + ')} bytes.`;
}

