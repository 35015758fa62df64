import { useEffect, useMemo, useRef, useState } from 'react';
import { describeCloseCode, describeOpcode } from '../../../core/constants.ts';
import { displayRule } from '../../../core/errors.ts';
import { frameAnatomy } from '../../../core/fields.ts';
import type { Role } from '../../../core/trace.ts';
import type { ByteStepSnapshot } from '../../../shared/inspector-api.ts';
import { api } from '../bridge.ts';
import { opensCompressedMessage } from '../lib/compression-facts.ts';
import { parseHex } from '../lib/frame-form.ts';
import { useInspector } from '../store/store.ts';
import { BitDiagram, FieldTable, HexDump, textDecoder } from './AnatomyParts.tsx';
import { RfcExamples } from './RfcExamples.tsx';
import { SectionHint } from './SectionHint.tsx';
import { Why } from './Why.tsx';

/** RFC 6455 §5.7: "A single-frame masked text message ... contains "Hello"". */
const rfcExample = '81 85 37 fa 21 3d 7f 9f 4d 51 58';

const stateNames: Record<string, string> = {
  header: 'header: the first 2 bytes (FIN, RSV1-3, opcode, MASK, payload len)',
  'extended-length-16': 'extended-length-16: the 2-byte length that follows payload len 126',
  'extended-length-64': 'extended-length-64: the 8-byte length that follows payload len 127',
  'masking-key': 'masking-key: the 4 bytes a client XORs its payload with (§5.3)',
  payload: 'payload: the application data',
};

interface Session {
  id: number;
  input: Uint8Array;
  snapshot: ByteStepSnapshot;
}

/**
 * The byte stepper: the same sans-I/O protocol object a socket drives, fed one byte (or N)
 * at a time, saying after each step what the parser is doing and what it still needs.
 */
export function ByteStepper() {
  const source = useInspector((s) => s.byteStepSource);
  const [hex, setHex] = useState(source?.hex ?? rfcExample);
  const [role, setRole] = useState<Role>(source?.role ?? 'server');
  /** permessage-deflate agreed with its default parameters (RSV1 = compressed). */
  const [deflate, setDeflate] = useState(source?.deflate ?? false);
  const [label, setLabel] = useState(source?.label ?? 'the RFC §5.7 example: a masked text frame holding "Hello"');
  const [count, setCount] = useState('4');
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const started = useRef<number | null>(null);
  // The loads asked for, and the session on screen: an answer to an earlier load, or a feed of an
  // earlier session still under way ("To the end" takes several calls), must not put it back.
  const loads = useRef(0);
  const shown = useRef<number | null>(null);

  const start = async (bytesHex: string, receiver: Role, withDeflate = deflate) => {
    let input: Uint8Array;
    try {
      input = parseHex(bytesHex);
    } catch (e) {
      setError(`Bytes: ${(e as Error).message}.`);
      return;
    }
    const load = ++loads.current;
    const result = await api.byteStepStart(bytesHex, receiver, { deflate: withDeflate });
    if (load !== loads.current) return; // other bytes were asked for since
    if (!result.ok) {
      setError(result.error);
      return;
    }
    setError(null);
    shown.current = result.sessionId;
    setSession({ id: result.sessionId, input, snapshot: result.snapshot });
  };

  // A frame sent here from the frame list ("Byte-step this frame"): load it and start.
  useEffect(() => {
    if (source && started.current !== source.nonce) {
      started.current = source.nonce;
      setHex(source.hex);
      setRole(source.role);
      setLabel(source.label);
      setDeflate(source.deflate ?? false);
      void start(source.hex, source.role, source.deflate ?? false);
    } else if (!source && started.current === null) {
      started.current = 0;
      void start(hex, role);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [source?.nonce]);

  // One call feeds a bounded amount (ByteStepLimits): a larger step ("To the end") takes several
  // calls, each short, so the service never blocks for long.
  const feed = async (n: number) => {
    if (!session || busy) return;
    setBusy(true);
    let snapshot = session.snapshot;
    let left = n;
    for (;;) {
      const result = await api.byteStepFeed(session.id, left);
      if (shown.current !== session.id) {
        setBusy(false); // other bytes were loaded meanwhile: this session is no longer on screen
        return;
      }
      if (!result.ok) {
        setBusy(false);
        setError(result.error);
        return;
      }
      const progress = result.snapshot.fed - snapshot.fed;
      snapshot = result.snapshot;
      left -= progress;
      if (n < 0 || left <= 0 || progress <= 0 || snapshot.fed >= snapshot.total) break;
      setSession({ ...session, snapshot });
    }
    setBusy(false);
    setSession({ ...session, snapshot });
  };

  const snap = session?.snapshot;
  const remaining = snap ? snap.total - snap.fed : 0;
  const n = Number(count);

  return (
    <div className="stepper" data-testid="byte-stepper">
      <RfcExamples />
      <section className="stepper-source" aria-label="Bytes to step through">
        <div className="editor-row">
          <label className="field grow">
            <span>Bytes (hex) <span className="muted">— {label}</span></span>
            <textarea className="input mono" rows={2} value={hex} onChange={(e) => { setHex(e.target.value); setLabel('typed in'); }} aria-label="Bytes to step (hex)" />
          </label>
          <div className="field">
            <span>Received by</span>
            <div className="role-options" role="radiogroup" aria-label="Receiver role">
              <label title="A server expects every frame masked (§5.1)"><input type="radio" checked={role === 'server'} onChange={() => { setRole('server'); void start(hex, 'server'); }} /> a server <span className="muted">(expects masked)</span></label>
              <label title="A client expects unmasked frames (§5.1)"><input type="radio" checked={role === 'client'} onChange={() => { setRole('client'); void start(hex, 'client'); }} /> a client <span className="muted">(expects unmasked)</span></label>
            </div>
          </div>
          <div className="field">
            <span>Extensions</span>
            <label className="checkbox-label" title="As if the handshake had agreed permessage-deflate with no parameters: RSV1 on a message's first frame means compressed, and the window is kept from message to message (RFC 7692 §6, §7.1)">
              <input type="checkbox" checked={deflate} onChange={(e) => { setDeflate(e.target.checked); void start(hex, role, e.target.checked); }} aria-label="permessage-deflate agreed" data-testid="stepper-deflate" />
              permessage-deflate agreed <span className="muted">(default parameters)</span>
            </label>
          </div>
          <button className="button" onClick={() => void start(hex, role)} data-testid="byte-step-start">Load these bytes</button>
        </div>
        {deflate ? (
          <SectionHint
            text="permessage-deflate is in force, as agreed with no parameters: RSV1 on a message's first frame means compressed, the payload is inflated as it arrives, and the window carries over from message to message. A frame cut from the middle of a session may refer back to messages the stepper never saw."
            rfcSection="RFC 7692 §6, §7.1, §7.2.2"
          />
        ) : (
          <SectionHint text="Nothing is negotiated: the protocol starts open without a handshake, so RSV1 on any frame fails the connection. Turn on permessage-deflate to step compressed frames." rfcSection="RFC 6455 §5.2" />
        )}
        {error && <p className="error-text" role="alert">{error}</p>}
      </section>

      {snap && session && (
        <>
          <section className="stepper-controls" aria-label="Feed bytes">
            <button className="button primary" onClick={() => void feed(1)} disabled={remaining === 0} data-testid="feed-1">+1 byte</button>
            <span className="plus-n">
              <button className="button" onClick={() => void feed(n)} disabled={remaining === 0 || !Number.isInteger(n) || n <= 0} data-testid="feed-n">+{Number.isInteger(n) && n > 0 ? n : 'N'} bytes</button>
              <input className="input mono narrow" value={count} onChange={(e) => setCount(e.target.value)} aria-label="Bytes per step" inputMode="numeric" />
            </span>
            <button className="button" onClick={() => void feed(remaining)} disabled={remaining === 0} data-testid="feed-all">To the end</button>
            <button className="button" onClick={() => void feed(-1)} disabled={snap.fed === 0} data-testid="feed-reset">Reset</button>
            <div className="progress" title={`${snap.fed} of ${snap.total} bytes fed`}>
              <div className="progress-bar" style={{ width: `${snap.total ? (100 * snap.fed) / snap.total : 0}%` }} />
              <span data-testid="step-progress">{snap.fed} / {snap.total} bytes fed</span>
            </div>
          </section>
          <StepperState snap={snap} input={session.input} />
        </>
      )}
    </div>
  );
}

function StepperState({ snap, input }: { snap: ByteStepSnapshot; input: Uint8Array }) {
  const last = snap.frames[snap.frames.length - 1];
  // The frame being read; or, between frames, the last one completed. Their bytes come from the
  // input we hold: the snapshot carries only the first ones (ByteStepLimits.bytesShown).
  const lastLength = last ? last.truncated?.rawLength ?? last.raw.length : 0;
  const showing = snap.frameBytesLength > 0 || !last
    ? { bytes: input.subarray(snap.frameStart, snap.frameStart + snap.frameBytesLength), start: snap.frameStart, complete: false }
    : { bytes: input.subarray(Math.max(0, snap.frameStart - lastLength), snap.frameStart), start: Math.max(0, snap.frameStart - lastLength), complete: true };
  // RSV1 on a data message's first frame is the compressed bit once permessage-deflate is agreed (RFC 7692 §6).
  const opensCompressed = opensCompressedMessage(showing.bytes[0], snap.deflate);
  const anatomy = useMemo(() => frameAnatomy(showing.bytes, { compressed: opensCompressed }), [showing.bytes, opensCompressed]);
  const partial = useMemo(() => {
    const marks = new Set<number>();
    for (const f of anatomy.fields) if (f.incomplete) for (let i = 0; i < f.byteLength; i++) marks.add(showing.start + f.byteOffset + i);
    return marks;
  }, [anatomy, showing.start]);
  // After a violation the receiver discards everything: the failing frame ends where it was cut.
  const failedAt = snap.violation ? snap.frameStart : null;
  const byteClass = (i: number) => (i >= snap.fed ? 'unfed'
    : failedAt !== null && i >= failedAt ? 'discarded'
    : partial.has(i) ? 'partial'
    : i < showing.start ? 'earlier' : '');
  const failed = snap.violation !== null;
  const cut = showing.complete && last?.partial === true;
  return (
    <>
      <section className={`stepper-now ${failed ? 'failed' : ''}`} aria-live="polite">
        <div className="big-description" data-testid="step-description">{failed ? `failed at byte ${failedAt}: ${snap.violation!.code}` : snap.description}</div>
        <div className="stepper-facts">
          <span>parser state <code className="state-chip" data-testid="parser-state">{snap.parserState}</code></span>
          <span className="muted">{failed ? 'the parser was reset: every byte after the failure is discarded' : stateNames[snap.parserState] ?? ''}</span>
          <span>connection <code className={`state state-${snap.state.toLowerCase()}`}>{snap.state}</code></span>
          {snap.responses > 0 && <span>the protocol answered with {snap.responses} frame{snap.responses === 1 ? '' : 's'}</span>}
        </div>
      </section>
      {snap.violation && (
        <div className="violation-box" role="alert" data-testid="step-violation">
          <b>✗ {snap.violation.code}</b> <span className="rfc">{snap.violation.rfcSection}</span>
          <div>{snap.violation.message}</div>
          <div className="rule">{displayRule(snap.violation.code, snap.violation.rule)}</div>
          <div>The receiver fails the connection with close code <b>{snap.violation.closeCode} {describeCloseCode(snap.violation.closeCode).name}</b>, and discards everything after (§7.1.7).</div>
        </div>
      )}
      <div className="stepper-grid">
        <div>
          <h3>All the input <span className="legend"><span className="lg fed">fed</span><span className="lg partial">field incomplete</span>{failed && <span className="lg discarded">discarded</span>}<span className="lg unfed">not fed yet</span></span></h3>
          <HexDump bytes={input} anatomy={anatomy} anatomyOffset={showing.start} byteClass={byteClass} label="Input bytes" testId="stepper-hex" />
          <h3>{showing.bytes.length === 0 ? 'The next frame' : cut ? `Frame ${snap.framesTotal}, cut short by the violation` : showing.complete ? `Frame ${snap.framesTotal}, complete` : `The frame being read (from byte ${showing.start})`}</h3>
          {showing.bytes.length === 0 ? <p className="hint">No byte of it yet: the parser waits for the 2 header bytes.</p> : <BitDiagram anatomy={anatomy} />}
          {anatomy.maskKey && <Why id="masking" />}
          {anatomy.needs && showing.bytes.length > 0 && <p className="hint">{cut ? `When the violation stopped it, the frame still ${anatomy.needs}.` : `Decoding so far, the frame ${anatomy.needs}.`}</p>}
          <InflatedSoFar snap={snap} last={showing.complete ? last : undefined} />
        </div>
        <div>
          <h3>Frames decoded <span className="count">{snap.framesTotal}</span></h3>
          {snap.framesTotal > snap.frames.length && <p className="hint">The newest {snap.frames.length} are listed.</p>}
          {snap.frames.length === 0 ? <p className="hint">None yet: a frame counts once its last payload byte arrives.</p> : (
            <ol className="stepped-frames" data-testid="stepped-frames" start={snap.framesTotal - snap.frames.length + 1}>
              {snap.frames.map((f) => (
                <li key={f.frameId}>
                  <b>{describeOpcode(f.opcode).name}</b> {f.fin ? 'FIN' : 'FIN 0'}{f.masked ? ' masked' : ''} · {f.payloadLength} bytes
                  {f.partial ? <span className="muted"> · incomplete ({f.raw.length} bytes arrived)</span>
                    : f.deflate ? <> · <span className="z-badge">deflate</span>{f.deflate.inflatedLength} bytes inflated: <q>{textDecoder.decode(f.deflate.inflated.subarray(0, 120))}</q></>
                    : f.opcode === 1 || f.opcode === 0 || f.opcode === 9 || f.opcode === 10 ? <> · <q>{textDecoder.decode(f.payload.subarray(0, 120))}</q></> : null}
                  {f.close && <> · {f.close.code ?? 'no code'} {f.close.reason}</>}
                  {f.violation && <span className="tag bad">{f.violation.code}</span>}
                </li>
              ))}
            </ol>
          )}
          <h3>What happened</h3>
          {snap.log.length === 0 ? <p className="hint">Nothing yet.</p> : (
            <ol className="step-log" data-testid="step-log" start={snap.logTotal - snap.log.length + 1}>{snap.log.map((line, i) => <li key={i} className={line.startsWith('✗') ? 'error-text' : ''}>{line}</li>)}</ol>
          )}
        </div>
      </div>
      {showing.bytes.length > 0 && (
        <details className="field-details" open>
          <summary>Fields decoded so far</summary>
          <FieldTable anatomy={anatomy} />
        </details>
      )}
    </>
  );
}

/**
 * permessage-deflate: the plain bytes of the compressed message being received, growing as its
 * compressed bytes arrive; or, between frames, what the frame just completed inflated to.
 */
function InflatedSoFar({ snap, last }: { snap: ByteStepSnapshot; last: ByteStepSnapshot['frames'][number] | undefined }) {
  if (snap.inflating) {
    return (
      <div className="relation" data-testid="stepper-inflating">
        <b>Inflated so far: {snap.inflating.length} byte{snap.inflating.length === 1 ? '' : 's'}</b>{' '}
        <span className="muted">the receiver inflates a compressed message as its bytes arrive; the tail 00 00 ff ff is put back after its last frame</span> <span className="rfc">RFC 7692 §7.2.2</span>
        <pre className="payload small">{snap.inflating.length === 0 ? '(nothing yet: DEFLATE data gives plain bytes a symbol at a time)' : textDecoder.decode(snap.inflating.bytes)}</pre>
      </div>
    );
  }
  if (!last?.deflate) return null;
  return (
    <div className="relation" data-testid="stepper-inflated">
      <b>This frame inflated to {last.deflate.inflatedLength} byte{last.deflate.inflatedLength === 1 ? '' : 's'}</b>{' '}
      <span className="muted">from {last.payloadLength} DEFLATE bytes{last.deflate.tail === 'appended' ? ', 00 00 ff ff put back after them' : ''}</span> <span className="rfc">RFC 7692 §7.2.2</span>
      <pre className="payload small">{textDecoder.decode(last.deflate.inflated)}</pre>
    </div>
  );
}
