/**
 * A frame of a compressed message (permessage-deflate, RFC 7692) in the frame anatomy: the
 * DEFLATE bytes that crossed the wire beside the plain bytes they inflate to, the ratio, the
 * 00 00 ff ff tail, and whether the sliding window carried over from earlier messages.
 */
import type { TracedFrameDeflate } from '../../../core/trace.ts';
import { describeRatio, describeTail, describeWindow } from '../lib/compression-facts.ts';
import type { MessageTrace } from '../store/store.ts';
import { hex2, textDecoder } from './AnatomyParts.tsx';

const SHOWN_BYTES = 1024;

function bytesText(bytes: Uint8Array, asText: boolean): string {
  const head = bytes.subarray(0, SHOWN_BYTES);
  const more = bytes.length > SHOWN_BYTES ? ` … (${bytes.length - SHOWN_BYTES} more)` : '';
  return (asText ? textDecoder.decode(head) : Array.from(head, hex2).join(' ')) + more;
}

export function CompressionView({ wirePayload, deflate, message, text }: {
  /** The frame's payload as it crossed the wire, unmasked: DEFLATE data. */
  wirePayload: Uint8Array;
  deflate: TracedFrameDeflate;
  /** The frame's message, once it has ended (its ratio and window). */
  message: MessageTrace | undefined;
  /** The message is text (show the plain bytes as text). */
  text: boolean;
}) {
  const compression = message?.compression;
  const ratio = compression
    ? { scope: 'Ratio (the message)', text: describeRatio(message!.size, compression.compressedSize) }
    : { scope: 'Ratio (this frame)', text: describeRatio(deflate.inflatedLength, wirePayload.length) };
  const facts = [
    { label: ratio.scope, text: ratio.text, rfcSection: 'RFC 7692 §7.2' },
    describeTail(deflate.tail),
    describeWindow(compression),
  ];
  return (
    <section className="compression" aria-label="Compression" data-testid="compression-view">
      <h3>Compression: permessage-deflate <span className="rfc">RFC 7692 §6, §7.2</span></h3>
      <p className="hint">
        {deflate.first
          ? 'This frame opens a compressed message: its RSV1 bit says the whole message is compressed. Its payload is DEFLATE data; the plain bytes come out when the receiver inflates it.'
          : 'A later frame of a compressed message: RSV1 stays 0 here, and the payload carries the rest of the message\'s DEFLATE data.'}{' '}
        <span className="rfc">RFC 7692 §6, §6.1</span>
      </p>
      <div className="compression-forms">
        <div>
          <h4>On the wire: DEFLATE <span className="count">{wirePayload.length} bytes</span></h4>
          <pre className="payload small mono" data-testid="compressed-payload">{bytesText(wirePayload, false) || '(empty)'}</pre>
        </div>
        <div>
          <h4>Inflated <span className="count">{deflate.inflatedLength} bytes</span></h4>
          <pre className="payload small" data-testid="inflated-payload">{bytesText(deflate.inflated, text) || '(nothing yet: a DEFLATE symbol can straddle two frames)'}</pre>
        </div>
      </div>
      <table className="param-table" data-testid="compression-facts">
        <tbody>
          {facts.map((f) => (
            <tr key={f.label} data-fact={f.label.split(' ')[0]!.toLowerCase()}>
              <td>{f.label}</td>
              <td>{f.text}</td>
              <td><span className="rfc">{f.rfcSection}</span></td>
            </tr>
          ))}
        </tbody>
      </table>
      {compression?.bfinal && <p className="hint">The sender ended its DEFLATE stream inside this message (a block with BFINAL set), which is allowed; the receiver starts a new stream for what follows. <span className="rfc">RFC 7692 §7.2.3.4</span></p>}
    </section>
  );
}
