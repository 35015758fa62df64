import { useState } from 'react';
import { describeCloseCode } from '../../../core/constants.ts';
import type { SendRequest } from '../../../shared/inspector-api.ts';
import { api } from '../bridge.ts';
import { selectLiveConnection, useInspector } from '../store/store.ts';
import { useComposerHistory } from '../store/composer-history.ts';
import { binaryHex } from '../lib/composer-payload.ts';
import { BinaryInput, CloseCodeNote, initialBinary, JsonTools, SendHistory, type BinaryDraft } from './ComposerParts.tsx';

type Kind = SendRequest['kind'];

const kinds: Array<{ kind: Kind; label: string; help: string }> = [
  { kind: 'text', label: 'Text', help: 'A text message (opcode 0x1); must be UTF-8.' },
  { kind: 'binary', label: 'Binary', help: 'A binary message (opcode 0x2): typed as hex or base64, or read from a file.' },
  { kind: 'ping', label: 'Ping', help: 'A ping (0x9); the peer must answer with a pong with the same payload (≤125 bytes).' },
  { kind: 'pong', label: 'Pong', help: 'An unsolicited pong (0xA): a one-way heartbeat.' },
  { kind: 'close', label: 'Close', help: 'Starts the closing handshake (0x8) with any status code (even one the RFC forbids, to test the peer) and a reason (≤123 bytes).' },
];

const commonCodes = [1000, 1001, 1003, 1008, 1011, 3000, 4000];

/** Send text, binary, ping, pong or close from the selected connection. */
export function Composer() {
  const connection = useInspector(selectLiveConnection);
  const recording = useInspector((s) => s.recordings.find((r) => r.id === s.selectedConnectionId));
  const setNotice = useInspector((s) => s.setNotice);
  const [kind, setKind] = useState<Kind>('text');
  // Each kind keeps its own box: switching from Text to Ping does not carry the text over.
  const [text, setText] = useState('Hello, WebSocket!');
  const [controlText, setControlText] = useState<Record<'ping' | 'pong', string>>({ ping: '', pong: '' });
  const [binary, setBinary] = useState<BinaryDraft>(initialBinary);
  const addToHistory = useComposerHistory((s) => s.add);
  const [fragments, setFragments] = useState('');
  const [code, setCode] = useState('1000');
  const [reason, setReason] = useState('done');
  const [error, setError] = useState<string | null>(null);

  if (recording) {
    return (
      <aside className="composer" data-testid="composer-recording">
        <h2>Composer</h2>
        <p className="hint">
          This is the recorded wire log of conformance case {recording.recording.caseId}: a finished conversation, so there is nothing to send on it.
          Pick a live connection to send frames, or run the case again from the Conformance tab.
        </p>
      </aside>
    );
  }
  if (!connection) {
    return <aside className="composer"><h2>Composer</h2><p className="hint">Select a connection to send frames on it.</p></aside>;
  }
  const open = connection.state === 'OPEN';
  // A proxy leg (issue 12): the proxy plays the server to the client and the client to the server.
  const sender = 'proxyLeg' in connection && connection.proxyLeg ? 'the proxy' : connection.role === 'server' ? 'the embedded server' : 'this client';
  const recipient = connection.role === 'server' ? `the client at ${connection.remote}` : 'the server';

  const send = async () => {
    const sizes = fragments.split(/[\s,]+/).filter(Boolean).map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) {
      setError('Fragment sizes are whole numbers of bytes, e.g. "3, 2".');
      return;
    }
    let request: SendRequest;
    switch (kind) {
      case 'text': request = { connectionId: connection.id, kind, text, ...(sizes.length ? { fragments: sizes } : {}) }; break;
      case 'binary': {
        const payload = binaryHex(binary.format, binary.format === 'file' ? '' : binary.text[binary.format], binary.file?.bytes ?? null);
        if (!payload.ok) return setError(payload.error);
        request = { connectionId: connection.id, kind, hex: payload.hex, ...(sizes.length ? { fragments: sizes } : {}) };
        break;
      }
      case 'ping':
      case 'pong': request = { connectionId: connection.id, kind, text: controlText[kind] }; break;
      case 'close': {
        if (closeCode !== null && (!Number.isInteger(closeCode) || closeCode < 0 || closeCode > 65535)) return setError('A status code is 2 bytes: 0 to 65535, or empty for none.');
        // A code the RFC forbids on the wire goes anyway (anyCode): the point is to see the peer's reaction.
        request = { connectionId: connection.id, kind, code: closeCode, reason, ...(closeCode !== null && !describeCloseCode(closeCode).sendable ? { anyCode: true } : {}) };
        break;
      }
    }
    await sendRequest(request);
  };

  const sendRequest = async (request: SendRequest) => {
    const result = await api.send(request);
    setError(result.ok ? null : result.error);
    if (result.ok) addToHistory(request);
  };

  const drop = async () => {
    const result = await api.dropConnection(connection.id);
    if (!result.ok) setNotice({ kind: 'error', text: result.error });
  };

  const closeCode = code.trim() === '' ? null : Number(code.trim());
  return (
    <aside className="composer" aria-label="Composer">
      <h2>Composer</h2>
      <p className="hint">From {sender} to {recipient}.{connection.role === 'client' ? ' Client frames are masked with a fresh random key (§5.3).' : ' Server frames are never masked (§5.1).'}</p>
      <div className="kind-tabs" role="tablist">
        {kinds.map((k) => (
          <button key={k.kind} role="tab" aria-selected={kind === k.kind} className={kind === k.kind ? 'subtab active' : 'subtab'} onClick={() => setKind(k.kind)}>{k.label}</button>
        ))}
      </div>
      <p className="hint">{kinds.find((k) => k.kind === kind)!.help}</p>
      {kind === 'binary' ? (
        <BinaryInput draft={binary} onChange={setBinary} />
      ) : kind === 'close' ? (
        <>
          <label>Status code
            <input className="input" list="close-codes" value={code} onChange={(e) => setCode(e.target.value)} aria-label="Close code" placeholder="empty: no status code" />
            <datalist id="close-codes">{commonCodes.map((c) => <option key={c} value={c}>{describeCloseCode(c).name}</option>)}</datalist>
          </label>
          <CloseCodeNote code={closeCode} />
          <label>Reason<input className="input" value={reason} onChange={(e) => setReason(e.target.value)} aria-label="Close reason" /></label>
        </>
      ) : kind === 'text' ? (
        <>
          <textarea className="input" rows={5} value={text} onChange={(e) => setText(e.target.value)} aria-label="Message text" />
          <JsonTools text={text} onChange={setText} />
        </>
      ) : (
        <textarea className="input" rows={3} value={controlText[kind]} onChange={(e) => setControlText({ ...controlText, [kind]: e.target.value })} aria-label={`${kind === 'ping' ? 'Ping' : 'Pong'} payload`} placeholder="empty, or up to 125 bytes (§5.5)" />
      )}
      {(kind === 'text' || kind === 'binary') && (
        <label>Split into frames of (bytes)
          <input className="input" value={fragments} placeholder="e.g. 3, 2 (empty: one frame)" onChange={(e) => setFragments(e.target.value)} aria-label="Fragment sizes" />
        </label>
      )}
      <button className="button primary" onClick={() => void send()} disabled={!open} data-testid="send">Send {kinds.find((k) => k.kind === kind)!.label.toLowerCase()}</button>
      {!open && <p className="hint">The connection is {connection.state}; nothing can be sent.</p>}
      {error && <p className="error-text" role="alert">{error}</p>}
      <SendHistory connectionId={connection.id} enabled={open} resend={sendRequest} />
      <hr />
      <button className="button danger" onClick={() => void drop()} disabled={connection.state === 'CLOSED'} title="Close TCP without a closing handshake: the peer sees 1006">Drop TCP (no close frame)</button>
    </aside>
  );
}
