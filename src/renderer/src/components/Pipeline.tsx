/**
 * From message to wire (issue 15, "Pictures"): for the selected frame's message, the stages its
 * sender went through, each with its bytes: the message → permessage-deflate (RFC 7692 §7.2.1) →
 * fragments (RFC 6455 §5.4) → frame headers (§5.2) → masking (§5.3) → the bytes on the wire →
 * the socket writes (or reads) they went in. Built from the trace the page holds (the frames' raw
 * bytes, message.compression, frame.deflate) and, for the last stage, the service's raw chunk store.
 */
import { toHex } from '../../../core/bytes.ts';
import { describeOpcode } from '../../../core/constants.ts';
import type { TracedFrame } from '../../../core/trace.ts';
import { useInspector, type MessageTrace } from '../store/store.ts';
import { PipelineWrites } from './PipelineWrites.tsx';
import { Why } from './Why.tsx';
import './learn.css';

/** Bytes shown per stage; the rest is counted. */
const SHOWN = 48;
const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

function Bytes({ bytes, total, className, testId }: { bytes: Uint8Array; total?: number; className?: string; testId?: string }) {
  const real = total ?? bytes.length;
  return (
    <div className={`pipeline-bytes ${className ?? ''}`} data-testid={testId}>
      {bytes.length === 0 ? <span className="muted">(no bytes)</span> : toHex(bytes.subarray(0, SHOWN), ' ')}
      {real > Math.min(SHOWN, bytes.length) && <span className="muted"> … ({real.toLocaleString('en')} bytes in all)</span>}
    </div>
  );
}

function Stage({ n, title, section, children, testId }: { n: number; title: string; section: string; children: React.ReactNode; testId: string }) {
  return (
    <section className="pipeline-stage" data-testid={testId}>
      <h4><span className="arrow">{n > 1 ? '↓ ' : ''}</span>{n}. {title} <span className="rfc">{section}</span></h4>
      {children}
    </section>
  );
}

/** "2.0× smaller", or "1.1× larger" when DEFLATE's overhead outweighs what it saved (short messages). */
const ratioWords = (ratio: number | null) => (ratio === null ? '' : ratio >= 1 ? `, ${ratio.toFixed(1)}× smaller` : `, ${(1 / ratio).toFixed(1)}× larger (too short to gain)`);

const headerBytes = (f: TracedFrame) => f.raw.subarray(0, f.headerLength - (f.maskKey ? 4 : 0));

export function Pipeline() {
  const key = useInspector((s) => s.selectedFrameKey);
  const row = useInspector((s) => (s.selectedFrameKey ? s.framesByKey.get(s.selectedFrameKey) : undefined));
  const message: MessageTrace | undefined = useInspector((s) => (s.selectedFrameKey ? s.messageByFrame.get(s.selectedFrameKey) : undefined));
  const role = useInspector((s) => s.status?.connections.find((c) => c.id === row?.connectionId)?.role);
  useInspector((s) => s.frameVersion); // frames arriving later (the rest of a message) redraw it
  const framesByKey = useInspector.getState().framesByKey;
  if (!key || !row) return <p className="hint pad" data-testid="pipeline">Select a frame in Frames: this view shows how its message became the bytes on the wire.</p>;
  if (row.opcode >= 8) {
    return <p className="hint pad" data-testid="pipeline">A control frame is never fragmented (§5.5) nor compressed (RFC 7692 §6): its bytes are its header, its masking key if any, and its payload. Pick a data frame.</p>;
  }
  const frameIds = message?.frameIds ?? [row.frameId];
  const frames = frameIds.map((id) => framesByKey.find(row.connectionId, id)?.frame);
  const held = frames.filter((f): f is TracedFrame => f !== undefined);
  const fromClient = role === 'client' ? row.direction === 'out' : row.direction === 'in';
  const sender = role ? (fromClient ? 'client' : 'server') : 'sender';
  const compression = message?.compression;
  const opcode = message?.opcode ?? held[0]?.opcode ?? row.opcode;
  const plain = message ? (message.data ?? new TextEncoder().encode(message.text ?? '')) : held[0]?.deflate?.inflated ?? held[0]?.payload ?? new Uint8Array();
  const plainSize = message?.size ?? plain.length;
  let n = 1;
  return (
    <div className="pipeline" data-testid="pipeline">
      <p className="hint">
        How the {sender} turned this {describeOpcode(opcode).name} message into bytes on the wire, stage by stage (our picture, drawn from the frames as traced on connection {row.connectionId}).
        {held.length < frameIds.length && ` ${frameIds.length - held.length} of its ${frameIds.length} frames are no longer held by this window (the frame ring dropped them).`}
      </p>
      <Stage n={n++} title={`The message: ${plainSize.toLocaleString('en')} bytes of ${opcode === 1 ? 'UTF-8 text' : 'binary data'}`} section="§5.6" testId="stage-message">
        {opcode === 1 && message?.text !== undefined && <div className="pipeline-bytes">“{message.text.slice(0, 120)}{message.text.length > 120 ? '…' : ''}”</div>}
        <Bytes bytes={plain} total={plainSize} />
      </Stage>
      {compression ? (
        <Stage n={n++} title={`permessage-deflate: ${compression.compressedSize.toLocaleString('en')} bytes of DEFLATE data${ratioWords(compression.ratio)}`} section="RFC 7692 §7.2.1" testId="stage-deflate">
          <Bytes bytes={compression.compressed} total={compression.compressedSize} />
          <p className="hint">The sender&apos;s compressor ended the message with {toHex(TAIL, ' ')} (an empty stored block) and removed those 4 octets before framing (§7.2.1){compression.tail === 'appended' ? '; this side, receiving, appended them again before inflating (§7.2.2)' : ''}. {compression.windowReason}</p>
        </Stage>
      ) : (
        <Stage n={n++} title="No compression" section="RFC 7692 §5" testId="stage-deflate">
          <p className="hint">permessage-deflate was not agreed on this connection, or the sender chose to send this message as it is (RSV1 is 0 on its first frame).</p>
        </Stage>
      )}
      <Stage n={n++} title={frameIds.length > 1 ? `Fragments: split into ${frameIds.length} frames` : 'Fragments: one frame, FIN set'} section="§5.4" testId="stage-fragments">
        <div className="pipeline-frames">
          {held.map((f, i) => (
            <div key={f.frameId}>
              <span className="muted">frame {i + 1} ({f.payload.length.toLocaleString('en')} bytes{compression ? ' of DEFLATE data' : ''}{f.deflate ? `, ${f.deflate.inflatedLength} plain` : ''}): </span>
              <Bytes bytes={f.payload} total={f.truncated?.payloadLength ?? f.payloadLength} />
            </div>
          ))}
        </div>
      </Stage>
      <Stage n={n++} title="Frame headers" section="§5.2" testId="stage-headers">
        <div className="pipeline-frames">
          {held.map((f, i) => (
            <div key={f.frameId}>
              <span className="muted">frame {i + 1}: FIN={f.fin ? 1 : 0} RSV1={f.rsv1 ? 1 : 0} opcode=0x{f.opcode.toString(16)} ({describeOpcode(f.opcode).name}) MASK={f.masked ? 1 : 0} length {f.payloadLength} → </span>
              <Bytes bytes={headerBytes(f)} className="hdr" />
            </div>
          ))}
        </div>
        {held.length > 1 && <p className="hint">Only the first frame carries the opcode{compression ? ' and RSV1 (compressed)' : ''}; the others are continuations (opcode 0), and only the last has FIN.</p>}
      </Stage>
      <Stage n={n++} title={held.some((f) => f.maskKey) ? 'Masking: each payload XOR a fresh 4-byte key' : 'Masking: none (a server never masks)'} section="§5.3" testId="stage-masking">
        {held.some((f) => f.maskKey) ? (
          <div className="pipeline-frames">
            {held.map((f, i) => f.maskKey && (
              <div key={f.frameId}>
                <span className="muted">frame {i + 1}: key </span><span className="pipeline-bytes key">{toHex(f.maskKey, ' ')}</span><span className="muted"> → masked payload </span>
                <Bytes bytes={f.raw.subarray(f.headerLength)} total={f.truncated ? f.truncated.rawLength - f.headerLength : f.payloadLength} />
              </div>
            ))}
          </div>
        ) : <p className="hint">Frames from a server go unmasked (§5.1); the payload is on the wire as it is.</p>}
        <Why id="masking" />
      </Stage>
      <Stage n={n++} title="On the wire" section="§5.2" testId="stage-wire">
        <div className="pipeline-frames">
          {held.map((f, i) => (
            <div key={f.frameId}>
              <span className="muted">frame {i + 1}, {(f.truncated?.rawLength ?? f.raw.length).toLocaleString('en')} bytes: </span>
              <Bytes bytes={f.raw} total={f.truncated?.rawLength ?? f.raw.length} />
            </div>
          ))}
        </div>
        <p className="hint">The frames&apos; bytes one after the other, in this order, as they crossed the wire; the next stage shows how they were cut into socket {row.direction === 'out' ? 'writes' : 'reads'}.</p>
      </Stage>
      <Stage n={n++} title={row.direction === 'out' ? 'TCP writes: the socket writes it left in' : 'TCP reads: the socket reads it arrived in'} section="TCP, RFC 9293" testId="stage-tcp">
        <PipelineWrites connectionId={row.connectionId} frameIds={frameIds} direction={row.direction} />
      </Stage>
    </div>
  );
}
