import { useMemo, useState } from 'react';
import { describeCloseCode, describeOpcode } from '../../../core/constants.ts';
import { displayRule } from '../../../core/errors.ts';
import { frameAnatomy } from '../../../core/fields.ts';
import { api } from '../bridge.ts';
import { findControlPartner } from '../lib/ping-pong.ts';
import { findConnection, isRecordingId, useInspector, type FrameRow } from '../store/store.ts';
import { CopyAs } from './CopyAs.tsx';
import { BitDiagram, FieldTable, HexDump, hex2, MaskingView, PayloadView } from './AnatomyParts.tsx';
import { CompressionView } from './CompressionView.tsx';
import { Why } from './Why.tsx';

function Relations({ row }: { row: FrameRow }) {
  const messageByFrame = useInspector((s) => s.messageByFrame);
  const framesByKey = useInspector((s) => s.framesByKey);
  useInspector((s) => s.frameVersion);
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
        {message.compression && <div className="hint">The message, inflated:</div>}
        <pre className="payload small" data-testid="reassembled">{message.text ?? Array.from((message.data ?? new Uint8Array()).subarray(0, 256), hex2).join(' ')}</pre>
        {message.compression && (
          <>
            <div className="hint">and as it crossed the wire, every frame&apos;s DEFLATE payload joined ({message.compression.compressedSize} bytes, the 00 00 ff ff tail not included) <span className="rfc">RFC 7692 §7.2.1</span>:</div>
            <pre className="payload small mono" data-testid="reassembled-compressed">{Array.from(message.compression.compressed.subarray(0, 256), hex2).join(' ')}{message.compression.compressedSize > 256 ? ' …' : ''}</pre>
          </>
        )}
      </div>,
    );
  }
  if (f.opcode === 9 || f.opcode === 10) {
    // Link a ping to the pong that answered it (same payload, other direction), and back.
    const partner = findControlPartner(framesByKey, row);
    items.push(
      <div key="pp" className="relation" data-testid="ping-pong">
        {partner ? (
          <>{f.opcode === 9 ? 'Answered by pong' : 'Answers ping'} <button className="link" onClick={() => selectFrame(partner.key)}>#{partner.frameId}</button> ({Math.round(Math.abs(partner.time - row.time) * 10) / 10} ms {f.opcode === 9 ? 'later' : 'earlier'}). §5.5.3: a pong carries the same payload as the ping it answers.</>
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
        <Why id="close-registry" />
      </div>,
    );
  }
  return items.length ? <section className="relations">{items}</section> : null;
}

/** A large frame arrives cut to its first 64 KiB of payload; the rest can be fetched. */
function TruncatedNotice({ row }: { row: FrameRow }) {
  const replaceFrame = useInspector((s) => s.replaceFrame);
  const [error, setError] = useState<string | null>(null);
  const t = row.frame.truncated!;
  if (isRecordingId(row.connectionId)) {
    return (
      <div className="relation" data-testid="truncated">
        A conformance wire log keeps the first {row.frame.payload.length.toLocaleString()} of {t.payloadLength.toLocaleString()} payload bytes of
        each frame; the fields below describe the header in full and the payload as far as it is kept.
      </div>
    );
  }
  const load = async () => {
    const result = await api.frameBytes(row.connectionId, row.frame.frameId);
    if (!result.ok) return setError(result.error);
    const { truncated: _cut, ...frame } = row.frame;
    replaceFrame(row.key, { ...frame, raw: result.raw, payload: result.payload });
  };
  return (
    <div className="relation" data-testid="truncated">
      To keep memory bounded, the inspector holds the first {row.frame.payload.length.toLocaleString()} of {t.payloadLength.toLocaleString()} payload
      bytes of this frame; the fields below describe the header in full and the payload as far as it is held.{' '}
      <button className="link" onClick={() => void load()}>Load all {t.rawLength.toLocaleString()} bytes</button>
      {error && <span className="error-text"> {error}</span>}
    </div>
  );
}

/** The selected frame, field by field: diagram, hex, masking, payload, links. */
export function FrameAnatomy() {
  const key = useInspector((s) => s.selectedFrameKey);
  const row = useInspector((s) => (key ? s.framesByKey.get(key) : undefined));
  const role = useInspector((s) => findConnection(s, s.selectedConnectionId)?.role ?? 'server');
  const anatomy = useMemo(() => (row ? frameAnatomy(row.frame.raw, { compressed: row.compressedFirst }) : null), [row]);
  const observed = useInspector((s) => (key ? s.observedByFrame.get(key) : undefined));
  const byteStep = useInspector((s) => s.byteStep);
  const message = useInspector((s) => (key ? s.messageByFrame.get(key) : undefined));
  if (!row || !anatomy) {
    return <section className="anatomy empty"><p className="hint pad">Select a frame to see it bit by bit: the header fields, the bytes they came from, the masking key and the payload.</p></section>;
  }
  const f = row.frame;
  const op = describeOpcode(f.opcode);
  const from = row.direction === 'in' ? (role === 'server' ? 'client → server' : 'server → client') : (role === 'server' ? 'server → client' : 'client → server');
  return (
    <section className="anatomy" aria-label="Frame anatomy" data-testid="anatomy" tabIndex={-1}>
      <div className="anatomy-title">
        <div className="title-row">
          <h2>Frame #{f.frameId} <span className="muted">{from} · {op.name} · {row.payloadLengthText} byte payload · {f.truncated?.rawLength ?? f.raw.length} bytes on the wire</span></h2>
          <button
            className="button small"
            data-testid="byte-step-frame"
            title="Feed this frame's wire bytes to a fresh protocol object, one byte at a time, and watch the parser"
            onClick={async () => {
              // The receiver: our side for frames we received, the peer's role for frames we sent.
              const receiver = row.direction === 'in' ? role : role === 'server' ? 'client' : 'server';
              // A compressed frame steps with permessage-deflate agreed; alone, it has none of the window earlier messages left.
              const alone = message?.compression?.contextTakeover ? ', which referred back to earlier messages: stepped alone, those references cannot resolve' : '';
              // A frame cut for display (over 64 KiB): the service keeps its full bytes; step those.
              let raw = f.raw;
              let cut = '';
              if (f.truncated && !isRecordingId(row.connectionId)) {
                const full = await api.frameBytes(row.connectionId, f.frameId);
                if (full.ok) raw = full.raw;
                else cut = `, only the first ${f.raw.length} bytes: ${full.error}`;
              } else if (f.truncated) {
                cut = `, only the first ${f.raw.length} bytes the wire log keeps`;
              }
              byteStep({ hex: Array.from(raw, hex2).join(' '), role: receiver, label: `frame #${f.frameId} (${from}, ${op.name}${row.compressed ? `, compressed${alone}` : ''}${cut})`, ...(row.compressed ? { deflate: true } : {}) });
            }}
          >
            Byte-step this frame
          </button>
          {f.opcode < 8 && (
            <button className="button small" data-testid="pipeline-frame" title="This frame's message from payload to wire: deflate, fragments, headers, masking, bytes" onClick={() => useInspector.getState().setView('pipeline')}>
              Message → wire
            </button>
          )}
        </div>
        <p className="hint">{op.meaning} <span className="rfc">{op.rfcSection}</span></p>
        <CopyAs row={row} />
      </div>
      {f.truncated && <TruncatedNotice row={row} />}
      {f.edited && (
        <div className="relation" data-testid="edited-frame">
          <span className="tag warn">edited</span> Edited in the debugger before release: these bytes are your edit, not the ones that {row.direction === 'in' ? 'arrived from the peer' : 'were produced'}.{' '}
          <details>
            <summary data-testid="edited-original-toggle">Original bytes ({f.edited.original.length})</summary>
            <HexDump bytes={f.edited.original} anatomy={frameAnatomy(f.edited.original)} label="Original wire bytes" testId="edited-original" />
          </details>
        </div>
      )}
      {observed && observed.length > 0 ? (
        <div className="violation-box observed" role="status" data-testid="violation-observed">
          <b>⚑ Flagged, not failed</b> <span className="tag warn">observe policy</span>
          {observed.map((v, i) => (
            <div key={i} className="observed-item">
              <b>{v.violation.code}</b> <span className="rfc">{v.violation.rfcSection}</span>
              <div>{v.violation.message}</div>
              <div className="rule">{displayRule(v.violation.code, v.violation.rule)}</div>
            </div>
          ))}
          <div>Under the strict policy the connection would fail with close code <b>{observed[0]!.violation.closeCode} {describeCloseCode(observed[0]!.violation.closeCode).name}</b>; the observe policy kept it open so you can keep looking.</div>
        </div>
      ) : f.violation && (
        <div className="violation-box" role="alert" data-testid="violation">
          <b>✗ {f.violation.code}</b> <span className="rfc">{f.violation.rfcSection}</span>
          <div>{f.violation.message}</div>
          <div className="rule">{displayRule(f.violation.code, f.violation.rule)}</div>
          <div>The connection fails with close code <b>{f.violation.closeCode} {describeCloseCode(f.violation.closeCode).name}</b>.</div>
          {f.violation.closeCode === 1009 && <Why id="limits" />}
          {f.partial && <div className="hint">The frame never arrived whole: the bytes shown are those received before the connection failed ({anatomy.needs}).</div>}
        </div>
      )}
      {/* Fragments, ping/pong and close links first: where a frame belongs matters before its bits. */}
      <Relations row={row} />
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
      <MaskingView anatomy={anatomy} />
      {f.deflate && (
        <CompressionView wirePayload={anatomy.complete ? anatomy.payload : f.payload} deflate={f.deflate} message={message} text={(message?.opcode ?? row.messageOpcode) === 1} />
      )}
      {!f.close && (f.deflate
        ? <PayloadView key={row.key} payload={f.deflate.inflated} opcode={message?.opcode ?? row.messageOpcode} title="Payload, inflated" />
        : <PayloadView key={row.key} payload={anatomy.complete ? anatomy.payload : f.payload} opcode={message?.opcode ?? row.messageOpcode} />)}
    </section>
  );
}
