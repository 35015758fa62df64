import { useMemo, useState } from 'react';
import { describeCloseCode, describeOpcode } from '../../../core/constants.ts';
import { frameAnatomy } from '../../../core/fields.ts';
import type { Direction } from '../../../core/trace.ts';
import type { Breakpoint, ConnectionSummary, GateSnapshot, StepAction, ViolationPolicy } from '../../../shared/inspector-api.ts';
import { api } from '../bridge.ts';
import { opensCompressedMessage } from '../lib/compression-facts.ts';
import { bytesToHex, encodeForm, formFromBytes, ruleChecks, type FrameForm } from '../lib/frame-form.ts';
import { useInspector } from '../store/store.ts';
import { BitDiagram, FieldTable, HexDump, PayloadView, textDecoder } from './AnatomyParts.tsx';
import { FrameFieldsEditor, RuleList } from './FrameFieldsEditor.tsx';

type HeldFrame = GateSnapshot['held'][number];

/** Who sends and who receives, in words, for a direction on this connection. */
function flow(role: ConnectionSummary['role'], direction: Direction): { arrow: string; text: string } {
  const peer = role === 'server' ? 'client' : 'server';
  return direction === 'in'
    ? { arrow: '←', text: `received from the ${peer}, not yet seen by ${role === 'server' ? 'the application' : 'this client'}` }
    : { arrow: '→', text: `to send to the ${peer}, not yet written to TCP` };
}

function reasonText(reason: string): string {
  if (reason === 'step mode') return 'held by step mode';
  if (reason === 'queued behind a held frame') return 'queued behind an earlier held frame (same direction)';
  return `held by breakpoint ${reason}`;
}

const policyHelp: Record<ViolationPolicy, string> = {
  strict: "the RFC's behaviour: a violation fails the connection with its close code (§7.1.7).",
  observe: 'the violation is flagged on its frame and the connection stays open, so you can keep looking. (Violations that would make us buffer without limit, such as an oversized message, still fail.)',
};

function useConnection(): ConnectionSummary | undefined {
  return useInspector((s) => s.status?.connections.find((c) => c.id === s.selectedConnectionId));
}

async function report(result: Promise<{ ok: boolean; error?: string }>): Promise<boolean> {
  const r = await result;
  if (!r.ok) useInspector.getState().setNotice({ kind: 'error', text: r.error ?? 'failed' });
  return r.ok;
}

/** "Breakpoint bp1 matched. " when a breakpoint (not step mode) held a frame. */
function breakpointHit(held: HeldFrame[]): string {
  const hit = held.find((h) => h.reason !== 'step mode' && h.reason !== 'queued behind a held frame');
  return hit ? `Breakpoint ${hit.reason} matched, so step mode is on. ` : '';
}

function StepBar({ connection, gate }: { connection: ConnectionSummary; gate: GateSnapshot | null }) {
  const held = gate?.held ?? [];
  const stepMode = gate?.stepMode ?? false;
  const control = (action: StepAction) => void report(api.stepControl(connection.id, action));
  const heldIn = held.filter((h) => h.direction === 'in').length;
  const heldOut = held.length - heldIn;
  const enabledBps = gate?.breakpoints.filter((b) => b.enabled).length ?? 0;
  return (
    <section className="step-bar" aria-label="Step mode">
      <label className={`switch ${stepMode ? 'on' : ''}`} title="Hold every frame in both directions until you step" data-testid="step-mode-switch">
        <input type="checkbox" checked={stepMode} onChange={(e) => void report(api.setStepMode(connection.id, e.target.checked))} aria-label="Step mode" disabled={connection.state === 'CLOSED'} />
        <span className="switch-track"><span className="switch-knob" /></span>
        Step mode
      </label>
      <div className="step-buttons">
        <button className="button primary" onClick={() => control('step')} disabled={held.length === 0} title="Let the oldest held frame go (F10)" aria-label="Step" aria-keyshortcuts="F10">Step <kbd>F10</kbd></button>
        <button className="button" onClick={() => control('step-in')} disabled={heldIn === 0} title="Let the oldest received frame reach the protocol and the application">Step ← received</button>
        <button className="button" onClick={() => control('step-out')} disabled={heldOut === 0} title="Write the oldest outgoing frame to TCP">Step → sent</button>
        <button className="button" onClick={() => control('continue')} disabled={!gate} title="Release everything and run until a breakpoint matches (F8)" aria-label="Continue ▶" aria-keyshortcuts="F8">Continue ▶ <kbd>F8</kbd></button>
        <button className="button" onClick={() => control('resume')} disabled={!gate} title="Release everything and stop holding; breakpoints are disarmed until Continue">Resume</button>
      </div>
      <p className="hint step-status" data-testid="step-status">
        {connection.state === 'CLOSED' ? 'The connection is closed.'
          : stepMode ? `${breakpointHit(held)}Holding every frame, both directions: ${held.length} held (${heldIn} received, ${heldOut} to send).`
          : held.length > 0 ? `${held.length} frame${held.length === 1 ? '' : 's'} held.`
          : !gate ? 'Running: frames flow freely. Turn step mode on, or set a breakpoint, to stop them.'
          : gate.armed && enabledBps > 0 ? `Running until a breakpoint matches (${enabledBps} armed).`
          : enabledBps > 0 ? 'Running; breakpoints disarmed by Resume (Continue arms them again).'
          : 'Running: frames flow freely.'}
      </p>
    </section>
  );
}

function PolicySwitch({ connection }: { connection: ConnectionSummary }) {
  const violations = useInspector((s) => s.details[connection.id]?.violations);
  const selectFrame = useInspector((s) => s.selectFrame);
  const setView = useInspector((s) => s.setView);
  const observed = (violations ?? []).filter((v) => v.observed);
  return (
    <section className="policy" aria-label="Violation policy">
      <h3>When the peer breaks a rule</h3>
      <div className="policy-options" role="radiogroup" aria-label="Violation policy">
        {(['strict', 'observe'] as const).map((p) => (
          <label key={p} className={`policy-option ${connection.policy === p ? 'active' : ''}`} data-testid={`policy-${p}`}>
            <input type="radio" name={`policy-${connection.id}`} checked={connection.policy === p} onChange={() => void report(api.setPolicy(connection.id, p))} disabled={connection.state === 'CLOSED'} />
            <span><b>{p}</b>: {policyHelp[p]}</span>
          </label>
        ))}
      </div>
      {observed.length > 0 && (
        <div className="observed-list" data-testid="observed-list">
          <b>⚑ {observed.length} violation{observed.length === 1 ? '' : 's'} flagged and let through:</b>
          <ul>
            {observed.slice(-8).map((v) => (
              <li key={v.seq}>
                {v.frameId !== undefined && (
                  <button className="link" onClick={() => { selectFrame(`${connection.id}:${v.frameId}`); setView('frames'); }}>frame #{v.frameId}</button>
                )}{' '}
                {v.violation.code} <span className="rfc">{v.violation.rfcSection}</span>: {v.violation.message}{' '}
                <span className="muted">(strict: {v.violation.closeCode} {describeCloseCode(v.violation.closeCode).name})</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

function HeldQueue({ connection, held, selected, onSelect }: { connection: ConnectionSummary; held: HeldFrame[]; selected: number | null; onSelect: (id: number) => void }) {
  return (
    <section className="held-queue" aria-label="Held frames">
      <h3>Held frames <span className="count" data-testid="held-count">{held.length}</span></h3>
      {held.length === 0 ? (
        <p className="hint">Nothing is held. With step mode on, every frame stops here before it goes on: received frames before the protocol and the application see them, outgoing frames before they are written to TCP. Within each direction frames leave in order, so stepping never reorders the conversation.</p>
      ) : (
        <ol className="held-list">
          {held.map((h) => {
            const a = frameAnatomy(h.bytes.subarray(0, 14)); // the header is enough for the length
            const op = describeOpcode((h.bytes[0] ?? 0) & 0x0f);
            const f = flow(connection.role, h.direction);
            return (
              <li key={h.holdId}>
                <button className={`held-item dir-${h.direction} ${h.holdId === selected ? 'selected' : ''}`} onClick={() => onSelect(h.holdId)} data-testid="held-frame" data-hold-id={h.holdId} title={f.text}>
                  <span className={`c-dir dir-${h.direction}`}>{f.arrow} {h.direction === 'in' ? 'recv' : 'send'}</span>
                  <span className={`op-${op.control ? 'control' : 'data'} ${op.reserved ? 'op-reserved' : ''}`}>{op.name}{(h.bytes[0]! & 0x80) === 0 ? ' (FIN 0)' : ''}</span>
                  <span className="muted">{a.payloadLength ?? '?'} B</span>
                  {h.edited && <span className="tag warn">edited</span>}
                  <span className="held-reason">{reasonText(h.reason)}</span>
                </button>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

function OriginalBytes({ bytes }: { bytes: Uint8Array }) {
  const a = frameAnatomy(bytes);
  const op = (bytes[0] ?? 0) & 0x0f;
  const text = op === 1 || op === 0 ? textDecoder.decode(a.payload.subarray(0, 60)) : null;
  return (
    <span className="hint" data-testid="original-bytes" title={bytesToHex(bytes)}>
      Before your edit: <code>{bytesToHex(bytes.subarray(0, 12))}{bytes.length > 12 ? ' …' : ''}</code>
      {text !== null && <> = {describeOpcode(op).name} “{text}”</>} ({bytes.length} bytes)
    </span>
  );
}

/** One held frame: its anatomy as it will go on, an editor, and Release / Drop. */
/** Bigger held frames are shown but not offered for editing as text (the form would copy the whole payload). */
const EDIT_LIMIT = 256 * 1024;

function HeldFrameView({ connection, frame, first }: { connection: ConnectionSummary; frame: HeldFrame; first: boolean }) {
  const editable = frame.bytes.length <= EDIT_LIMIT;
  const [form, setForm] = useState<FrameForm>(() => formFromBytes(editable ? frame.bytes : frame.bytes.subarray(0, 14)));
  // With permessage-deflate agreed, RSV1 on a data message's first frame means compressed (RFC 7692 §6).
  const deflate = useInspector((s) => s.details[connection.id]?.handshake?.extensions?.agreed?.deflate !== undefined);
  const anatomy = useMemo(() => frameAnatomy(frame.bytes, { compressed: opensCompressedMessage(frame.bytes[0], deflate) }), [frame.bytes, deflate]);
  const draft = useMemo(() => encodeForm(form), [form]);
  const sender = frame.direction === 'in' ? (connection.role === 'server' ? 'client' : 'server') : connection.role;
  const checks = useMemo(() => ruleChecks(form, sender, { deflate }), [form, sender, deflate]);
  const changed = 'bytes' in draft && bytesToHex(draft.bytes) !== bytesToHex(frame.bytes);
  const f = flow(connection.role, frame.direction);
  const op = describeOpcode((frame.bytes[0] ?? 0) & 0x0f);

  const apply = async () => {
    if (!('fields' in draft)) return;
    await report(api.editHeld(connection.id, frame.holdId, draft.fields));
  };
  return (
    <section className="held-view" data-testid="held-view" aria-label="Held frame">
      <div className="title-row">
        <h2>
          Held frame {frame.holdId} <span className="muted">{f.arrow} {f.text} · {op.name} · {anatomy.payloadLength} byte payload · {frame.bytes.length} bytes</span>
          {frame.edited && <span className="tag warn" data-testid="edited-marker" title="These bytes are not the ones that arrived or were produced: they are your edit">edited</span>}
        </h2>
      </div>
      <div className="held-actions">
        <button className="button primary" onClick={() => void report(api.stepControl(connection.id, frame.direction === 'in' ? 'step-in' : 'step-out'))} disabled={!first} data-testid="release-held">
          Release {frame.direction === 'in' ? '← to the protocol' : '→ to TCP'}
        </button>
        <button
          className="button danger"
          onClick={() => void report(api.dropHeld(connection.id, frame.holdId))}
          title={frame.direction === 'in'
            ? 'The application never gets the message this frame belongs to. The inspector still reads the frame in its turn, so that the frames after it (the rest of a fragmented message, compressed messages that refer back to it) read as the peer sent them.'
            : 'This frame never goes on the wire.'}
          data-testid="drop-held"
        >Drop</button>
        {!first && <span className="hint">Frames leave in order within a direction: release the earlier {frame.direction === 'in' ? 'received' : 'outgoing'} frame first.</span>}
        {frame.edited && <OriginalBytes bytes={frame.original} />}
      </div>
      <div className="held-grid">
        <div>
          <h3>{frame.edited ? 'The edited bytes, as they will go on' : 'The bytes, as they will go on'}</h3>
          <BitDiagram anatomy={anatomy} />
          <HexDump bytes={frame.bytes} anatomy={anatomy} testId="held-hex" />
          {op.name !== 'close' && <PayloadView payload={anatomy.payload} opcode={(frame.bytes[0] ?? 0) & 0x0f} />}
        </div>
        {!editable ? <p className="hint">This frame is {frame.bytes.length} bytes: too big to edit here. Release it or drop it.</p> : <div className="editor-column">
          <h3>Edit before it goes</h3>
          <FrameFieldsEditor form={form} onChange={setForm} withLength />
          <RuleList checks={checks} />
          <div className="held-actions">
            <button className="button primary" onClick={() => void apply()} disabled={!('fields' in draft) || !changed} data-testid="apply-edit">Apply edit</button>
            <button className="button" onClick={() => setForm(formFromBytes(frame.original))} title="Back to the bytes as they arrived or were produced">Reset to the original</button>
            {'error' in draft && <span className="error-text">{draft.error}</span>}
            {'bytes' in draft && !changed && <span className="hint">The form matches the held bytes.</span>}
          </div>
        </div>}
      </div>
      <details className="field-details">
        <summary>Field table</summary>
        <FieldTable anatomy={anatomy} />
      </details>
    </section>
  );
}

const opcodeChips: Array<[number, string]> = [[1, 'text'], [2, 'binary'], [0, 'continuation'], [8, 'close'], [9, 'ping'], [10, 'pong']];

function BreakpointsEditor({ connection, gate }: { connection: ConnectionSummary; gate: GateSnapshot | null }) {
  const [list, setList] = useState<Breakpoint[]>(() => gate?.breakpoints ?? []);
  const save = (next: Breakpoint[]) => {
    setList(next);
    void report(api.setBreakpoints(connection.id, next));
  };
  const update = (i: number, patch: Partial<Breakpoint>) => save(list.map((b, j) => {
    if (j !== i) return b;
    const merged: Breakpoint = { ...b, ...patch };
    // An empty size or match means "any": drop the key rather than send undefined.
    if (merged.minSize === undefined) delete merged.minSize;
    if (merged.maxSize === undefined) delete merged.maxSize;
    if (!merged.payloadMatch) delete merged.payloadMatch;
    return merged;
  }));
  const size = (text: string) => (text.trim() === '' || !Number.isInteger(Number(text)) ? undefined : Number(text));
  const add = () => {
    const used = new Set(list.map((b) => b.id));
    let n = list.length + 1;
    while (used.has(`bp${n}`)) n++;
    save([...list, { id: `bp${n}`, direction: 'both', opcodes: [], enabled: true }]);
  };
  return (
    <section className="breakpoints" aria-label="Breakpoints">
      <h3>Breakpoints <span className="count">{list.length}</span></h3>
      <p className="hint">A frame that matches every condition of an enabled breakpoint is held and step mode turns on. Empty conditions match anything. {gate && !gate.armed && list.some((b) => b.enabled) ? <b>Disarmed by Resume: press Continue to arm them.</b> : null}</p>
      {list.map((b, i) => (
        <div className={`breakpoint ${b.enabled ? '' : 'disabled'}`} key={b.id} data-testid="breakpoint">
          <div className="editor-row">
            <label className="toggle"><input type="checkbox" checked={b.enabled} onChange={(e) => update(i, { enabled: e.target.checked })} aria-label={`Breakpoint ${b.id} enabled`} /> <b className="mono">{b.id}</b></label>
            <select className="input" value={b.direction} onChange={(e) => update(i, { direction: e.target.value as Breakpoint['direction'] })} aria-label="Breakpoint direction">
              <option value="both">both directions</option>
              <option value="in">← received</option>
              <option value="out">→ sent</option>
            </select>
            <button className="link" onClick={() => save(list.filter((_, j) => j !== i))} aria-label={`Remove breakpoint ${b.id}`}>remove</button>
          </div>
          <div className="chips" aria-label="Opcodes">
            {opcodeChips.map(([op, name]) => (
              <button key={op} className={`chip ${b.opcodes.includes(op) ? 'on' : ''}`} onClick={() => update(i, { opcodes: b.opcodes.includes(op) ? b.opcodes.filter((o) => o !== op) : [...b.opcodes, op] })}>{name}</button>
            ))}
            <span className="hint">{b.opcodes.length === 0 ? 'any opcode' : ''}</span>
          </div>
          <div className="editor-row">
            <label className="field"><span>min size</span><input className="input mono narrow" value={b.minSize ?? ''} onChange={(e) => update(i, { minSize: size(e.target.value) })} placeholder="0" aria-label="Minimum payload size" /></label>
            <label className="field"><span>max size</span><input className="input mono narrow" value={b.maxSize ?? ''} onChange={(e) => update(i, { maxSize: size(e.target.value) })} placeholder="∞" aria-label="Maximum payload size" /></label>
            <label className="field grow"><span>payload contains</span><input className="input" value={b.payloadMatch ?? ''} onChange={(e) => update(i, { payloadMatch: e.target.value })} placeholder='text, or "hex:de ad"' aria-label="Payload match" /></label>
          </div>
        </div>
      ))}
      <button className="button small" onClick={add} disabled={connection.state === 'CLOSED'}>+ Add breakpoint</button>
    </section>
  );
}

/** Step mode, the held-frame queue and editor, breakpoints, and the violation policy. */
export function Debugger() {
  const connection = useConnection();
  const [selected, setSelected] = useState<number | null>(null);
  if (!connection) return null;
  const gate = connection.gate;
  const held = gate?.held ?? [];
  const current = held.find((h) => h.holdId === selected) ?? held[0];
  const first = current ? held.find((h) => h.direction === current.direction)?.holdId === current.holdId : false;
  return (
    <div className="debugger" data-testid="debugger">
      <StepBar connection={connection} gate={gate} />
      <div className="debugger-grid">
        <div className="debugger-side">
          <HeldQueue connection={connection} held={held} selected={current?.holdId ?? null} onSelect={setSelected} />
          <BreakpointsEditor key={connection.id} connection={connection} gate={gate} />
          <PolicySwitch connection={connection} />
        </div>
        <div className="debugger-main">
          {current ? (
            <HeldFrameView key={`${connection.id}:${current.holdId}`} connection={connection} frame={current} first={first} />
          ) : (
            <div className="empty-panel">
              <h2>Step through the conversation, frame by frame</h2>
              <ol>
                <li>Turn on <b>Step mode</b> above (or add a breakpoint on the left).</li>
                <li>Send something: from the peer, or from the composer on the right.</li>
                <li>The frame stops here. Look at it bit by bit, edit any field, then <b>Release</b> it, or <b>Drop</b> it: an outgoing frame never goes on the wire; a received one never reaches the application (its message is not delivered), though the inspector still reads it so that what the peer sends after it makes sense.</li>
              </ol>
              <p className="hint">Received frames are held before the protocol checks them, so an edit that breaks a rule makes our own side fail the connection, exactly as if the peer had sent it. Outgoing frames are held after they are encoded, so the peer gets your edited bytes.</p>
            </div>
          )}
        </div>
      </div>
    </div>
  );
}
