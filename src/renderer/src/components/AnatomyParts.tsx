/**
 * The pieces of a frame's anatomy, shared by every view that shows frame bytes (the frame
 * list's anatomy, held frames in step mode, the byte stepper, the crafter's preview): the
 * RFC §5.2 bit diagram, the hex dump and the field table, which highlight each other on hover
 * through the store, the XOR walk-through, and the payload as text, JSON or hex.
 */
import { useMemo, useState } from 'react';
import type { AnatomyField, FieldId, FrameAnatomy as Anatomy } from '../../../core/fields.ts';
import { useInspector } from '../store/store.ts';
import { Why } from './Why.tsx';
import './masking.css';

const BITS_PER_ROW = 32;
const HEX_LIMIT = 4096;
const XOR_LIMIT = 32;

export const hex2 = (b: number) => b.toString(16).padStart(2, '0');
export const printable = (b: number) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '·');

/** CSS class for a field, so the diagram and the hex dump use the same colour. */
export const fieldClass = (id: FieldId) => `f-${id}`;

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
      if (row >= maxRows || ((field.id === 'payload' || field.id === 'close-reason') && payloadRows === 2)) {
        truncated = true;
        break;
      }
      if (field.id === 'payload' || field.id === 'close-reason') payloadRows++;
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
    case 'close-code': return `status code ${field.display}`;
    case 'close-reason': return `reason ${field.display}`;
  }
}

export function BitDiagram({ anatomy }: { anatomy: Anatomy }) {
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

export interface HexDumpProps {
  bytes: Uint8Array;
  anatomy: Anatomy;
  /** Where the anatomy's frame starts within `bytes` (the byte stepper shows its whole input). */
  anatomyOffset?: number;
  /** Extra classes per byte (fed or not yet, part of an earlier frame). */
  byteClass?: (index: number) => string;
  label?: string;
  testId?: string;
}

export function HexDump({ bytes, anatomy, anatomyOffset = 0, byteClass, label = 'Wire bytes', testId }: HexDumpProps) {
  const hoverField = useInspector((s) => s.hoverField);
  const hoverByte = useInspector((s) => s.hoverByte);
  const setHover = useInspector((s) => s.setHover);
  const [showAll, setShowAll] = useState(false);
  const shown = showAll ? bytes : bytes.subarray(0, HEX_LIMIT);
  /** For each byte: the field it belongs to (the multi-byte field, or the first bit field). */
  const owner = useMemo(() => {
    const out: Array<FieldId | undefined> = new Array(shown.length);
    for (const f of anatomy.fields) {
      const end = Math.min(shown.length, anatomyOffset + f.byteOffset + Math.max(1, f.byteLength));
      for (let i = anatomyOffset + f.byteOffset; i < end; i++) if (out[i] === undefined || f.byteLength > 1) out[i] = f.id;
    }
    return out;
  }, [anatomy, shown.length, anatomyOffset]);
  const hovered = hoverField ? anatomy.fields.find((f) => f.id === hoverField) : undefined;
  const lines = [];
  for (let offset = 0; offset < shown.length; offset += 16) {
    const cells = [];
    const ascii = [];
    for (let i = offset; i < Math.min(offset + 16, shown.length); i++) {
      const local = i - anatomyOffset;
      const id = owner[i] ?? (anatomyOffset === 0 ? 'payload' : undefined);
      const inField = hovered ? local >= hovered.byteOffset && local < hovered.byteOffset + Math.max(1, hovered.byteLength) : false;
      const active = id !== undefined && (inField || hoverByte === local);
      cells.push(
        <span
          key={i}
          className={`hex-byte ${id ? fieldClass(id) : 'f-none'} ${active ? 'active' : ''} ${byteClass?.(i) ?? ''}`}
          onMouseEnter={() => id && setHover(null, local)}
          onMouseLeave={() => setHover(null, null)}
          data-byte={i}
        >
          {hex2(shown[i]!)}
        </span>,
      );
      ascii.push(<span key={i} className={`${active ? 'active' : ''} ${byteClass?.(i) ?? ''}`}>{printable(shown[i]!)}</span>);
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
    <div className="hex-dump" aria-label={label} {...(testId ? { 'data-testid': testId } : {})}>
      {lines}
      {shown.length === 0 && <span className="hint">no bytes</span>}
      {bytes.length > HEX_LIMIT && !showAll && (
        <button className="link" onClick={() => setShowAll(true)}>show all {bytes.length} bytes</button>
      )}
    </div>
  );
}

export function FieldTable({ anatomy }: { anatomy: Anatomy }) {
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

export function MaskingView({ anatomy }: { anatomy: Anatomy }) {
  if (!anatomy.maskKey) return null;
  const key = anatomy.maskKey;
  const n = Math.min(XOR_LIMIT, anatomy.maskedPayload.length);
  return (
    <section className="masking" aria-label="Unmasking">
      <h3>Unmasking <span className="rfc">§5.3</span></h3>
      <p className="hint">Each payload byte is XORed with byte <i>i mod 4</i> of the masking key <code data-testid="mask-key-bytes">{Array.from(key, (b, k) => <span key={k} className={`key-${k}`}>{hex2(b)}{k < 3 ? ' ' : ''}</span>)}</code>, each key byte in its own colour. Masking the same bytes again gives them back.</p>
      <Why id="masking" />
      <Why id="fresh-key" />
      {n === 0 ? <p className="hint">Empty payload: nothing to unmask.</p> : (
        <div className="xor-table" data-testid="xor-table">
          <div className="xor-col head"><span>i</span><span>masked</span><span>⊕ key</span><span>= byte</span><span>char</span></div>
          {Array.from({ length: n }, (_, i) => (
            <div className={`xor-col key-col-${i % 4}`} key={i}>
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

// ignoreBOM: a leading U+FEFF of a payload is data (§5.6), shown as it came, not dropped as a byte order mark.
export const textDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export function PayloadView({ payload, opcode, title = 'Payload' }: { payload: Uint8Array; opcode: number; title?: string }) {
  const [mode, setMode] = useState<'text' | 'json' | 'hex'>(opcode === 2 ? 'hex' : 'text');
  const text = useMemo(() => textDecoder.decode(payload.subarray(0, 256 * 1024)), [payload]);
  const json = useMemo(() => {
    try {
      // RFC 8259 §8.1: parsers "MAY ignore the presence of a byte order mark": the JSON view does (the text view keeps it).
      return JSON.stringify(JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text), null, 2);
    } catch {
      return null;
    }
  }, [text]);
  const hex = useMemo(() => Array.from(payload.subarray(0, 16 * 1024), hex2).join(' '), [payload]);
  return (
    <section className="payload-view" aria-label="Payload">
      <div className="subtabs">
        <h3>{title} <span className="count">{payload.length} bytes</span></h3>
        {(['text', 'json', 'hex'] as const).map((m) => (
          <button key={m} className={mode === m ? 'subtab active' : 'subtab'} onClick={() => setMode(m)} disabled={m === 'json' && json === null}>{m}</button>
        ))}
      </div>
      <pre className="payload" data-testid="payload-text">{mode === 'text' ? text : mode === 'json' ? json ?? 'not JSON' : hex}</pre>
    </section>
  );
}

