import { useState } from 'react';
import { describeCloseCode } from '../../../core/constants.ts';
import type { SendRequest } from '../../../shared/inspector-api.ts';
import { binaryHex, checkJson, looksLikeJson, MAX_COMPOSER_FILE_BYTES, type BinaryFormat } from '../lib/composer-payload.ts';
import { describeSent, useComposerHistory, type HistoryEntry } from '../store/composer-history.ts';
import './composer.css';

export interface BinaryDraft {
  format: BinaryFormat;
  text: Record<'hex' | 'base64', string>;
  file: { name: string; bytes: Uint8Array } | null;
}

export const initialBinary: BinaryDraft = { format: 'hex', text: { hex: 'de ad be ef', base64: '3q2+7w==' }, file: null };

/** A binary message typed as hex or base64, or read from a file; says its size or what is wrong. */
export function BinaryInput({ draft, onChange }: { draft: BinaryDraft; onChange: (draft: BinaryDraft) => void }) {
  const [fileError, setFileError] = useState<string | null>(null);
  const parsed = binaryHex(draft.format, draft.format === 'file' ? '' : draft.text[draft.format], draft.file?.bytes ?? null);
  const readFile = async (file: File | undefined) => {
    if (!file) return;
    if (file.size > MAX_COMPOSER_FILE_BYTES) {
      setFileError(`${file.name} is ${file.size.toLocaleString('en')} bytes; the composer sends files up to ${MAX_COMPOSER_FILE_BYTES / 1024 / 1024} MiB.`);
      return;
    }
    setFileError(null);
    onChange({ ...draft, file: { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) } });
  };
  return (
    <div className="binary-input">
      <div className="format-choice" role="radiogroup" aria-label="Binary payload as">
        {(['hex', 'base64', 'file'] as const).map((f) => (
          <label key={f} className="checkbox-label">
            <input type="radio" name="binary-format" checked={draft.format === f} onChange={() => onChange({ ...draft, format: f })} data-testid={`binary-format-${f}`} />
            {f}
          </label>
        ))}
      </div>
      {draft.format === 'file' ? (
        <label className="file-pick">
          <input type="file" onChange={(e) => void readFile(e.target.files?.[0])} aria-label="File to send" data-testid="binary-file" />
          {draft.file && <span className="hint">{draft.file.name}</span>}
        </label>
      ) : (
        <textarea
          className="input mono" rows={5} value={draft.text[draft.format]}
          onChange={(e) => onChange({ ...draft, text: { ...draft.text, [draft.format]: e.target.value } })}
          aria-label={draft.format === 'hex' ? 'Binary payload (hex)' : 'Binary payload (base64)'}
        />
      )}
      <p className={`hint ${parsed.ok ? '' : 'error-text'}`} data-testid="binary-size">{fileError ?? (parsed.ok ? `${parsed.size.toLocaleString('en')} bytes` : parsed.error)}</p>
    </div>
  );
}

/** Under a text that looks like JSON: whether it parses (and where it does not), pretty-print and minify. */
export function JsonTools({ text, onChange }: { text: string; onChange: (text: string) => void }) {
  if (!looksLikeJson(text)) return null;
  const check = checkJson(text);
  return (
    <div className="json-tools" data-testid="json-tools">
      <span className={check.ok ? 'ok-text' : 'error-text'} data-testid="json-verdict">{check.ok ? '✓ valid JSON' : `✗ not JSON: ${check.error}`}</span>
      <button className="button small" disabled={!check.ok} onClick={() => check.ok && onChange(check.pretty)}>Pretty-print</button>
      <button className="button small" disabled={!check.ok} onClick={() => check.ok && onChange(check.compact)}>Minify</button>
    </div>
  );
}

/**
 * What the typed close code means, and a warning where the RFC forbids it in a Close frame
 * (§7.4.1: 1005, 1006 and 1015 are for reporting only; §7.4.2: 0-999, undefined 1000-2999 and
 * 5000 up are not to be used): the composer sends it all the same, to see what the peer does.
 */
export function CloseCodeNote({ code }: { code: number | null }) {
  if (code === null) return <p className="hint">No status code: an empty Close body (§5.5.1); the peer reports 1005.</p>;
  if (!Number.isInteger(code) || code < 0 || code > 65535) return <p className="error-text" data-testid="close-code-note">A status code is 2 bytes: 0 to 65535.</p>;
  const info = describeCloseCode(code);
  return (
    <div data-testid="close-code-note">
      <p className="hint">{info.name}: {info.meaning} <span className="rfc">{info.rfcSection}</span></p>
      {!info.sendable && (
        <p className="warning-text" data-testid="close-code-warning">
          ⚠ The RFC forbids {code} on the wire ({info.rfcSection}): a conforming peer fails the connection, usually with 1002 Protocol error. It is sent as typed, to test the peer.
        </p>
      )}
    </div>
  );
}

/** What was sent, newest first; a click sends it again on the selected connection. */
export function SendHistory({ connectionId, enabled, resend }: { connectionId: string; enabled: boolean; resend: (request: SendRequest) => Promise<void> }) {
  const entries = useComposerHistory((s) => s.entries);
  const clear = useComposerHistory((s) => s.clear);
  if (entries.length === 0) return null;
  const again = (entry: HistoryEntry) => resend({ ...entry.message, connectionId } as SendRequest);
  return (
    <details className="send-history" data-testid="send-history" open>
      <summary>Sent <span className="count">{entries.length}</span> <button className="link small-link" onClick={clear} aria-label="Forget what was sent" title="Forget this list (nothing is unsent)">forget</button></summary>
      <ul>
        {entries.map((e) => (
          <li key={e.id}>
            <button className="button small" disabled={!enabled} onClick={() => void again(e)} title={`Send again on ${connectionId} (first sent on ${e.connectionId})`} data-testid="resend">↻</button>
            <span className="mono history-line" title={describeSent(e.message)}>{describeSent(e.message)}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}
