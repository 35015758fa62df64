/**
 * The crafter's "compress this payload" (permessage-deflate, RFC 7692): the switch, the
 * compressed bytes fetched from the service (DEFLATE runs there, not in the page), and what the
 * preview says about them. The payload is compressed on its own, without the connection's
 * window, so crafting never moves the connection's compressor.
 */
import { useEffect, useState } from 'react';
import type { CompressedPayload } from '../../../shared/inspector-api.ts';
import { api } from '../bridge.ts';
import { describeRatio } from '../lib/compression-facts.ts';
import { bytesToHex, formPayload, parseHex, type FrameForm } from '../lib/frame-form.ts';
import { SectionHint } from './SectionHint.tsx';

export interface CompressedState {
  /** The payload on the wire, once the service has compressed the current plain payload. */
  bytes: Uint8Array | null;
  info: CompressedPayload | null;
  plainLength: number;
  error: string | null;
}

const idle: CompressedState = { bytes: null, info: null, plainLength: 0, error: null };

/** The current payload, compressed by the service whenever it or the switch changes. */
export function useCompressedPayload(connectionId: string | undefined, form: FrameForm): CompressedState {
  let plainHex: string | null = null;
  try {
    plainHex = form.compress ? bytesToHex(formPayload(form)).replace(/ /g, '') : null;
  } catch {
    plainHex = null; // bad hex: the form says so itself
  }
  const [state, setState] = useState<CompressedState & { key: string | null }>({ ...idle, key: null });
  const key = connectionId && plainHex !== null ? `${connectionId}\u0000${plainHex}` : null;
  useEffect(() => {
    if (!key || !connectionId || plainHex === null) return;
    let current = true;
    void api.compressPayload(connectionId, plainHex).then((result) => {
      if (!current) return;
      setState(result.ok
        ? { key, bytes: parseHex(result.compressedHex), info: result, plainLength: plainHex.length / 2, error: null }
        : { ...idle, key, error: result.error });
    });
    return () => {
      current = false;
    };
  }, [key, connectionId, plainHex]);
  return state.key === key && key !== null ? state : idle;
}

/** The switch, disabled (saying why) where permessage-deflate is not agreed. */
export function CompressSwitch({ form, onChange, agreed }: { form: FrameForm; onChange: (form: FrameForm) => void; agreed: boolean }) {
  return (
    <div className="compress-switch">
      <label className={`checkbox-label ${agreed ? '' : 'muted'}`} title={agreed ? 'Deflate the payload before sending, and set RSV1 (RFC 7692 §6, §7.2.1)' : 'permessage-deflate was not agreed on this connection (RFC 7692 §5)'}>
        <input
          type="checkbox" checked={form.compress} disabled={!agreed && !form.compress} aria-label="compress this payload" data-testid="craft-compress"
          // Turning it on sets RSV1 (the compressed bit), turning it off clears it; RSV1 stays editable.
          onChange={(e) => onChange({ ...form, compress: e.target.checked, rsv1: e.target.checked })}
        />
        compress this payload <span className="muted">(permessage-deflate)</span>
      </label>
      {agreed ? (
        <SectionHint
          text="Compressed on its own, without the connection's window: a fresh compressor with the window size agreed for this direction, the 00 00 ff ff tail stripped. After it is sent, the connection's own compressor starts its next message with an empty window, because the peer's window now holds bytes ours never saw."
          rfcSection="RFC 7692 §7.2.1"
        />
      ) : (
        <SectionHint text="permessage-deflate was not agreed on this connection, so there is nothing to compress with: RSV1 would be a protocol error here." rfcSection="RFC 7692 §5, RFC 6455 §5.2" />
      )}
    </div>
  );
}

/** Above the preview's bytes: what the compression did. */
export function CompressionSummary({ state }: { state: CompressedState }) {
  if (state.error) return <p className="error-text" role="alert">{state.error}</p>;
  if (!state.bytes || !state.info) return null;
  return (
    <div className="relation" data-testid="craft-compressed">
      <b>Compressed payload</b>: {describeRatio(state.plainLength, state.bytes.length)}; window {state.info.windowBits} bits
      {state.info.zlibWindowBits !== state.info.windowBits ? ` (the window bits zlib actually uses: ${state.info.zlibWindowBits})` : ''}, the 00 00 ff ff tail stripped. <span className="rfc">RFC 7692 §7.2.1</span>
      <pre className="payload small mono" data-testid="craft-compressed-bytes">{bytesToHex(state.bytes) || '(empty)'}</pre>
    </div>
  );
}
