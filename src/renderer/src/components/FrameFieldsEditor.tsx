import type { ReactNode } from 'react';
import { opcodeLabel, switchPayloadMode, type FrameForm, type LengthEncoding } from '../lib/frame-form.ts';
import { Why } from './Why.tsx';

const opcodes = Array.from({ length: 16 }, (_, i) => i);

function Bit({ label, title, checked, onChange }: { label: string; title: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <label className={`bit-toggle ${checked ? 'on' : ''}`} title={title}>
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} aria-label={label} />
      {label} <span className="mono">{checked ? 1 : 0}</span>
    </label>
  );
}

/**
 * Every field of a frame, valid or not: FIN, RSV1-3, any of the 16 opcodes, the mask bit and
 * key, optionally the length encoding and a length that disagrees with the payload, and the
 * payload as text or hex.
 */
export function FrameFieldsEditor({ form, onChange, withLength = false, extra }: {
  form: FrameForm;
  onChange: (form: FrameForm) => void;
  withLength?: boolean;
  extra?: ReactNode;
}) {
  const set = (patch: Partial<FrameForm>) => onChange({ ...form, ...patch });
  return (
    <div className="frame-editor" aria-label="Frame fields">
      <div className="editor-row">
        <Bit label="FIN" title="§5.2: 1 = the final fragment of a message" checked={form.fin} onChange={(fin) => set({ fin })} />
        <Bit label="RSV1" title="§5.2: must be 0 without a negotiated extension" checked={form.rsv1} onChange={(rsv1) => set({ rsv1 })} />
        <Bit label="RSV2" title="§5.2: must be 0 without a negotiated extension" checked={form.rsv2} onChange={(rsv2) => set({ rsv2 })} />
        <Bit label="RSV3" title="§5.2: must be 0 without a negotiated extension" checked={form.rsv3} onChange={(rsv3) => set({ rsv3 })} />
        <label className="field">
          <span>Opcode <span className="rfc">§5.2</span></span>
          <select className="input mono" value={form.opcode} onChange={(e) => set({ opcode: Number(e.target.value) })} aria-label="Opcode">
            {opcodes.map((op) => <option key={op} value={op}>{opcodeLabel(op)}</option>)}
          </select>
        </label>
      </div>
      <div className="editor-row">
        <Bit label="MASK" title="§5.1: clients mask every frame, servers never do" checked={form.masked} onChange={(masked) => set({ masked })} />
        <label className="field grow">
          <span>Masking key, 4 bytes hex <span className="rfc">§5.3</span></span>
          <input
            className="input mono" value={form.maskKeyHex} disabled={!form.masked} aria-label="Masking key (hex)"
            placeholder={form.masked ? `empty: random (${form.autoKeyHex})` : 'no mask bit: no key'}
            onChange={(e) => set({ maskKeyHex: e.target.value })}
          />
        </label>
      </div>
      {form.masked && <Why id="masking" />}
      {withLength && (
        <div className="editor-row">
          <label className="field">
            <span>Length encoding <span className="rfc">§5.2</span></span>
            <select className="input" value={form.lengthEncoding} onChange={(e) => set({ lengthEncoding: e.target.value as LengthEncoding })} aria-label="Length encoding">
              <option value="minimal">minimal (as the RFC requires)</option>
              <option value="7-bit">7-bit field (0-125)</option>
              <option value="16-bit">16-bit extended (126 + 2 bytes)</option>
              <option value="64-bit">64-bit extended (127 + 8 bytes)</option>
            </select>
          </label>
          <label className="field grow">
            <span>Declared length (bytes)</span>
            <input className="input mono" value={form.declaredLength} onChange={(e) => set({ declaredLength: e.target.value })} placeholder="empty: the real payload length" aria-label="Declared length" inputMode="numeric" />
          </label>
        </div>
      )}
      <div className="editor-payload">
        <div className="subtabs">
          <span className="field-label">Payload <span className="muted">(unmasked; masking is applied for you)</span></span>
          {(['text', 'hex'] as const).map((m) => (
            <button key={m} type="button" className={form.payloadMode === m ? 'subtab active' : 'subtab'} onClick={() => onChange(switchPayloadMode(form, m))}>{m}</button>
          ))}
        </div>
        {form.payloadMode === 'text' ? (
          <textarea className="input" rows={3} value={form.payloadText} onChange={(e) => set({ payloadText: e.target.value })} aria-label="Payload (text)" />
        ) : (
          <textarea className="input mono" rows={3} value={form.payloadHex} onChange={(e) => set({ payloadHex: e.target.value })} aria-label="Payload (hex)" placeholder="e.g. 48 65 6c 6c 6f" />
        )}
      </div>
      {extra}
    </div>
  );
}

export function RuleList({ checks }: { checks: Array<{ level: 'ok' | 'warn' | 'bad'; text: string; rfcSection: string }> }) {
  return (
    <ul className="rule-list" data-testid="rule-checks">
      {checks.map((c, i) => (
        <li key={i} className={c.level}>
          <span className="mark">{c.level === 'ok' ? '✓' : c.level === 'warn' ? '!' : '✗'}</span>
          <span>{c.text} {c.rfcSection && <span className="rfc">{c.rfcSection}</span>}</span>
        </li>
      ))}
    </ul>
  );
}
