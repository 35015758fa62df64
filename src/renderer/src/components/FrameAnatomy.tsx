import { useMemo, useState } from 'react';
import { describeCloseCode, describeOpcode } from '../../../core/constants.ts';
import { frameAnatomy, type AnatomyField, type FieldId, type FrameAnatomy as Anatomy } from '../../../core/fields.ts';
import { useInspector, type FrameRow } from '../store/store.ts';

const BITS_PER_ROW = 32;
const HEX_LIMIT = 4096;
const XOR_LIMIT = 32;

const hex2 = (b: number) => b.toString(16).padStart(2, '0');
const printable = (b: number) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '·');

/** CSS class for a field, so the diagram and the hex dump use the same colour. */
const fieldClass = (id: FieldId) => `f-${id}`;

interface Segment {
  field: AnatomyField;
  row: number;
  startBit: number;
  span: number;
  first: boolean;
}

/** Splits fields into per-row segments of the RFC §5.2 style 32-bit diagram. */
function segments(anatomy: Anatomy, maxRows: number): { segs: Segment[]; rows: number; truncated: boolean } {
  const segs: Segment[] = [];
  let lastRow = 0;
  let truncated = false;
  for (const field of anatomy.fields) {
    let bit = field.bitOffset;
    const end = field.bitOffset + Math.max(field.bitLength, field.id === 'payload' ? 0 : 1);
    let first = true;
    if (field.id === 'payload' && field.bitLength === 0) continue;
    let payloadRows = 0;
    while (bit < end) {
      const row = Math.floor(bit / BITS_PER_ROW);
      // The payload gets the rest of its first row and one more row at most: its bytes are in the hex dump.
      if (row >= maxRows || (field.id === 'payload' && payloadRows === 2)) {
        truncated = true;
        break;
      }
      if (field.id === 'payload') payloadRows++;
      const rowEnd = (row + 1) * BITS_PER_ROW;
      const segEnd = Math.min(end, rowEnd);
      segs.push({ field, row, startBit: bit % BITS_PER_ROW, span: segEnd - bit, first });
      first = false;
      lastRow = Math.max(lastRow, row);
      bit = segEnd;
    }
  }
  return { segs, rows: lastRow + 1, truncated };
}

function shortLabel(field: AnatomyField): string {
  switch (field.id) {
    case 'fin': return `FIN ${field.value}`;
    case 'rsv1': return `R1 ${field.value}`;
    case 'rsv2': return `R2 ${field.value}`;
    case 'rsv3': return `R3 ${field.value}`;
    case 'opcode': return `op 0x${Number(field.value).toString(16).toUpperCase()}`;
    case 'mask': return `MASK ${field.value}`;
    case 'payload-length': return `len ${field.value}`;
    case 'extended-length': return `extended payload length = ${field.display}`;
    case 'masking-key': return `masking-key ${field.display}`;
    case 'payload': return `payload data (${field.display})`;
  }
}

function BitDiagram({ anatomy }: { anatomy: Anatomy }) {
  const hoverField = useInspector((s) => s.hoverField);
  const hoverByte = useInspector((s) => s.hoverByte);
  const setHover = useInspector((s) => s.setHover);
  const { segs, rows, truncated } = useMemo(() => segments(anatomy, 8), [anatomy]);
  const byteHit = (f: AnatomyField) => hoverByte !== null && hoverByte >= f.byteOffset && hoverByte < f.byteOffset + Math.max(1, f.byteLength);
  return (
    <div className="bit-diagram" aria-label="Bit diagram (RFC 6455 §5.2)">
      <div className="bit-ruler tens" aria-hidden>
        {Array.from({ length: BITS_PER_ROW }, (_, i) => <span key={i}>{i % 10 === 0 ? i / 10 : ''}</span>)}
      </div>
      <div className="bit-ruler" aria-hidden>
        {Array.from({ length: BITS_PER_ROW }, (_, i) => <span key={i} className={i % 8 === 0 ? 'major' : ''}>{i % 10}</span>)}
      </div>
      {Array.from({ length: rows }, (_, row) => (
        <div className="bit-row" key={row}>
          <span className="bit-offset">byte {row * 4}</span>
          <div className="bit-cells">
            {segs.filter((s) => s.row === row).map((s) => {
              const active = hoverField === s.field.id || byteHit(s.field);
              return (
                <div
                  key={`${s.field.id}-${s.row}-${s.startBit}`}
                  className={`bit-cell ${fieldClass(s.field.id)} ${active ? 'active' : ''} ${s.field.notes.length ? 'has-note' : ''} ${s.field.incomplete ? 'incomplete' : ''}`}
                  style={{ gridColumn: `${s.startBit + 1} / span ${s.span}` }}
                  onMouseEnter={() => setHover(s.field.id, null)}
                  onMouseLeave={() => setHover(null, null)}
                  title={`${s.field.label}: ${s.field.display} (${s.field.rfcSection})`}
                  data-field={s.field.id}
                >
                  {s.first || s.span >= 8 ? (s.span >= 4 ? shortLabel(s.field) : s.field.value) : '…'}
                </div>
              );
            })}
          </div>
        </div>
      ))}
      {truncated && <div className="bit-more">… the payload continues: {anatomy.payloadLength} bytes in all (see the wire bytes below)</div>}
    </div>
  );
}

function HexDump({ bytes, anatomy }: { bytes: Uint8Array; anatomy: Anatomy }) {
  const hoverField = useInspector((s) => s.hoverField);
  const hoverByte = useInspector((s) => s.hoverByte);
  const setHover = useInspector((s) => s.setHover);
  const [showAll, setShowAll] = useState(false);
  const shown = showAll ? bytes : bytes.subarray(0, HEX_LIMIT);
  /** For each byte: the field it belongs to (the multi-byte field, or the first bit field). */
  const owner = useMemo(() => {
    const out: FieldId[] = new Array(shown.length);
    for (const f of anatomy.fields) {
      const end = Math.min(shown.length, f.byteOffset + Math.max(1, f.byteLength));
      for (let i = f.byteOffset; i < end; i++) if (out[i] === undefined || f.byteLength > 1) out[i] = f.id;
    }
    return out;
  }, [anatomy, shown.length]);
  const hovered = hoverField ? anatomy.fields.find((f) => f.id === hoverField) : undefined;
  const lines = [];
  for (let offset = 0; offset < shown.length; offset += 16) {
    const cells = [];
    const ascii = [];
    for (let i = offset; i < Math.min(offset + 16, shown.length); i++) {
      const id = owner[i] ?? 'payload';
      const inField = hovered ? i >= hovered.byteOffset && i < hovered.byteOffset + Math.max(1, hovered.byteLength) : false;
      const active = inField || hoverByte === i;
      cells.push(
        <span
          key={i}
          className={`hex-byte ${fieldClass(id)} ${active ? 'active' : ''}`}
          onMouseEnter={() => setHover(null, i)}
          onMouseLeave={() => setHover(null, null)}
          data-byte={i}
        >
          {hex2(shown[i]!)}
        </span>,
      );
      ascii.push(<span key={i} className={active ? 'active' : ''}>{printable(shown[i]!)}</span>);
    }
    lines.push(
      <div className="hex-line" key={offset}>
        <span className="hex-offset">{offset.toString(16).padStart(4, '0')}</span>
        <span className="hex-bytes">{cells}</span>
        <span className="hex-ascii">{ascii}</span>
      </div>,
    );
  }
  return (
    <div className="hex-dump" aria-label="Wire bytes">
      {lines}
      {bytes.length > HEX_LIMIT && !showAll && (
        <button className="link" onClick={() => setShowAll(true)}>show all {bytes.length} bytes</button>
      )}
    </div>
  );
}

function FieldTable({ anatomy }: { anatomy: Anatomy }) {
  const hoverField = useInspector((s) => s.hoverField);
  const hoverByte = useInspector((s) => s.hoverByte);
  const setHover = useInspector((s) => s.setHover);
  return (
    <table className="field-table">
      <thead><tr><th>field</th><th>where</th><th>value</th><th>meaning</th></tr></thead>
      <tbody>
        {anatomy.fields.map((f) => {
          const where = f.bitLength < 8 ? `byte ${f.byteOffset}, bit${f.bitLength > 1 ? 's' : ''} ${f.bitOffset % 8}${f.bitLength > 1 ? `–${(f.bitOffset % 8) + f.bitLength - 1}` : ''}`
            : f.byteLength === 1 ? `byte ${f.byteOffset}` : `bytes ${f.byteOffset}–${f.byteOffset + f.byteLength - 1}`;
          const active = hoverField === f.id || (hoverByte !== null && hoverByte >= f.byteOffset && hoverByte < f.byteOffset + Math.max(1, f.byteLength));
          return (
            <tr key={f.id} className={active ? 'active' : ''} onMouseEnter={() => setHover(f.id, null)} onMouseLeave={() => setHover(null, null)} data-field-row={f.id}>
              <td><span className={`swatch ${fieldClass(f.id)}`} />{f.label}</td>
              <td className="mono">{where}</td>
              <td className="mono">{f.display}</td>
              <td>
                {f.meaning} <span className="rfc">{f.rfcSection}</span>
                {f.notes.map((n) => <div key={n} className="note">⚠ {n}</div>)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function MaskingView({ anatomy }: { anatomy: Anatomy }) {
  if (!anatomy.maskKey) return null;
  const key = anatomy.maskKey;
  const n = Math.min(XOR_LIMIT, anatomy.maskedPayload.length);
  return (
    <section className="masking" aria-label="Unmasking">
      <h3>Unmasking <span className="rfc">§5.3</span></h3>
      <p className="hint">Each payload byte is XORed with byte <i>i mod 4</i> of the masking key <code>{Array.from(key, hex2).join(' ')}</code>. Masking the same bytes again gives them back.</p>
      {n === 0 ? <p className="hint">Empty payload: nothing to unmask.</p> : (
        <div className="xor-table" data-testid="xor-table">
          <div className="xor-col head"><span>i</span><span>masked</span><span>⊕ key</span><span>= byte</span><span>char</span></div>
          {Array.from({ length: n }, (_, i) => (
            <div className="xor-col" key={i}>
              <span>{i}</span>
              <span className="mono">{hex2(anatomy.maskedPayload[i]!)}</span>
              <span className={`mono key-${i % 4}`}>{hex2(key[i % 4]!)}</span>
              <span className="mono strong">{hex2(anatomy.payload[i]!)}</span>
              <span className="mono">{printable(anatomy.payload[i]!)}</span>
            </div>
          ))}
          {anatomy.maskedPayload.length > n && <div className="xor-col more">… {anatomy.maskedPayload.length - n} more</div>}
        </div>
      )}
    </section>
  );
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });

function PayloadView({ payload, opcode }: { payload: Uint8Array; opcode: number }) {
  const [mode, setMode] = useState<'text' | 'json' | 'hex'>(opcode === 2 ? 'hex' : 'text');
  const text = useMemo(() => textDecoder.decode(payload.subarray(0, 256 * 1024)), [payload]);
  const json = useMemo(() => {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return null;
    }
  }, [text]);
  const hex = useMemo(() => Array.from(payload.subarray(0, 16 * 1024), hex2).join(' '), [payload]);
  return (
    <section className="payload-view" aria-label="Payload">
      <div className="subtabs">
        <h3>Payload <span className="count">{payload.length} bytes</span></h3>
        {(['text', 'json', 'hex'] as const).map((m) => (
          <button key={m} className={mode === m ? 'subtab active' : 'subtab'} onClick={() => setMode(m)} disabled={m === 'json' && json === null}>{m}</button>
        ))}
      </div>
      <pre className="payload" data-testid="payload-text">{mode === 'text' ? text : mode === 'json' ? json ?? 'not JSON' : hex}</pre>
    </section>
  );
}

function Relations({ row }: { row: FrameRow }) {
  const messageByFrame = useInspector((s) => s.messageByFrame);
  const framesByKey = useInspector((s) => s.framesByKey);
  useInspector((s) => s.frameCount);
  const selectFrame = useInspector((s) => s.selectFrame);
  const f = row.frame;
  const message = messageByFrame.get(row.key);
  const items = [];
  if (message && message.frameIds.length > 1) {
    const index = message.frameIds.indexOf(f.frameId);
    items.push(
      <div key="msg" className="relation" data-testid="fragment-info">
        Fragment {index + 1} of {message.frameIds.length} of a {message.opcode === 1 ? 'text' : 'binary'} message ({message.size} bytes):
        {message.frameIds.map((id) => (
          <button key={id} className={`link ${id === f.frameId ? 'current' : ''}`} onClick={() => selectFrame(`${row.connectionId}:${id}`)}>#{id}</button>
        ))}
        <pre className="payload small" data-testid="reassembled">{message.text ?? Array.from((message.data ?? new Uint8Array()).subarray(0, 256), hex2).join(' ')}</pre>
      </div>,
    );
  }
  if (f.opcode === 9 || f.opcode === 10) {
    // Link a ping to the pong that answered it (same payload, other direction), and back.
    const wanted = f.opcode === 9 ? 10 : 9;
    const payload = textDecoder.decode(f.payload);
    let partner: FrameRow | undefined;
    for (let id = f.frameId + (f.opcode === 9 ? 1 : -1); id > 0 && Math.abs(id - f.frameId) < 2000; id += f.opcode === 9 ? 1 : -1) {
      const other = framesByKey.get(`${row.connectionId}:${id}`);
      if (!other) {
        if (f.opcode === 9) break;
        continue;
      }
      if (other.frame.opcode === wanted && other.direction !== row.direction && textDecoder.decode(other.frame.payload) === payload) {
        partner = other;
        break;
      }
    }
    items.push(
      <div key="pp" className="relation" data-testid="ping-pong">
        {partner ? (
          <>{f.opcode === 9 ? 'Answered by pong' : 'Answers ping'} <button className="link" onClick={() => selectFrame(partner.key)}>#{partner.frame.frameId}</button> ({Math.round(Math.abs(partner.time - row.time) * 10) / 10} ms {f.opcode === 9 ? 'later' : 'earlier'}). §5.5.2: a pong carries the same payload as the ping it answers.</>
        ) : f.opcode === 9 ? 'No pong yet for this ping.' : 'An unsolicited pong (a heartbeat; no ping to answer, §5.5.3).'}
      </div>,
    );
  }
  if (f.close) {
    const info = f.close.code === null ? null : describeCloseCode(f.close.code);
    items.push(
      <div key="close" className="relation" data-testid="close-info">
        {f.close.code === null ? 'Close without a status code (reported as 1005 No Status Received).' : (
          <><b>{f.close.code} {info!.name}</b>: {info!.meaning} <span className="rfc">{info!.rfcSection}</span></>
        )}
        {f.close.reason && <div>Reason: <q>{f.close.reason}</q></div>}
      </div>,
    );
  }
  return items.length ? <section className="relations">{items}</section> : null;
}

/** The selected frame, field by field: diagram, hex, masking, payload, links. */
export function FrameAnatomy() {
  const key = useInspector((s) => s.selectedFrameKey);
  const row = useInspector((s) => (key ? s.framesByKey.get(key) : undefined));
  const role = useInspector((s) => s.status?.connections.find((c) => c.id === s.selectedConnectionId)?.role ?? 'server');
  const anatomy = useMemo(() => (row ? frameAnatomy(row.frame.raw) : null), [row]);
  if (!row || !anatomy) {
    return <section className="anatomy empty"><p className="hint pad">Select a frame to see it bit by bit: the header fields, the bytes they came from, the masking key and the payload.</p></section>;
  }
  const f = row.frame;
  const op = describeOpcode(f.opcode);
  const from = row.direction === 'in' ? (role === 'server' ? 'client → server' : 'server → client') : (role === 'server' ? 'server → client' : 'client → server');
  return (
    <section className="anatomy" aria-label="Frame anatomy" data-testid="anatomy">
      <div className="anatomy-title">
        <h2>Frame #{f.frameId} <span className="muted">{from} · {op.name} · {f.payloadLength} byte payload · {f.raw.length} bytes on the wire</span></h2>
        <p className="hint">{op.meaning} <span className="rfc">{op.rfcSection}</span></p>
      </div>
      {f.violation && (
        <div className="violation-box" role="alert" data-testid="violation">
          <b>✗ {f.violation.code}</b> <span className="rfc">{f.violation.rfcSection}</span>
          <div>{f.violation.message}</div>
          <div className="rule">“{f.violation.rule}”</div>
          <div>The connection fails with close code <b>{f.violation.closeCode} {describeCloseCode(f.violation.closeCode).name}</b>.</div>
          {f.partial && <div className="hint">The frame never arrived whole: the bytes shown are those received before the connection failed ({anatomy.needs}).</div>}
        </div>
      )}
      <div className="anatomy-grid">
        <div>
          <h3>Header, as in RFC 6455 §5.2</h3>
          <BitDiagram anatomy={anatomy} />
          <h3>Wire bytes</h3>
          <HexDump bytes={f.raw} anatomy={anatomy} />
        </div>
        <div>
          <FieldTable anatomy={anatomy} />
        </div>
      </div>
      <Relations row={row} />
      <MaskingView anatomy={anatomy} />
      {!f.close && <PayloadView payload={anatomy.complete ? anatomy.payload : f.payload} opcode={f.opcode} />}
    </section>
  );
}
