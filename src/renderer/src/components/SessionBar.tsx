/**
 * Sessions (issue 13): open a recording (a session file, our JSON, a HAR, a pcap or pcapng),
 * record the live connections to a session file with a per-frame cap, save it, and export
 * everything, the selected connection, the selected frame or the frames the timeline shows (its
 * filters and search) as pcapng, HAR or JSON.
 */
import { useRef, useState } from 'react';
import { exportFormats, type ExportFormat } from '../../../shared/inspector-api.ts';
import { api, webBridgeToken } from '../bridge.ts';
import { shownFrameIds } from '../lib/shown-frames.ts';
import { downloadBytes, formatBytes, openRecordingFile, useSessionUi } from '../store/recording.ts';
import { useInspector } from '../store/store.ts';
import './session.css';

const DEFAULT_CAP = 16 * 1024 * 1024;
/** How long an opened recording's connections may take to be listed before the opener stops waiting to select one. */
const OPENED_LISTING_WAIT_MS = 60_000;

/**
 * Resolves with what `get` gives once it gives something other than false (re-read at every
 * change of the store), or null after `ms`.
 */
function untilStore<T>(get: () => T | false, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (value: T | null) => {
      if (done) return;
      done = true;
      unsubscribe();
      clearTimeout(limit);
      resolve(value);
    };
    const check = () => {
      const value = get();
      if (value !== false) finish(value);
    };
    const unsubscribe = useInspector.subscribe(check);
    const limit = setTimeout(() => finish(null), ms);
    check();
  });
}

const formatHelp: Record<ExportFormat, string> = {
  pcapng: 'pcapng: Wireshark and tshark dissect it as HTTP + WebSocket; each frame’s comment carries our verdict',
  har: 'HAR 1.2 with Chrome’s _webSocketMessages (messages, not bytes)',
  json: 'Our JSON: every byte, opens again here and with wsinspect open',
};

/**
 * Sending the file (the browser's upload progress), then the service opening it: bytes read of the
 * file's size while each connection is replayed as it ends in it, then the connections still open
 * at its end replayed; the frames loaded so far. Cancel stops reading and closes the recording.
 */
function OpenProgressBar() {
  const progress = useSessionUi((s) => s.progress);
  const reading = useInspector((s) => s.status?.opening ?? null);
  const setNotice = useInspector((s) => s.setNotice);
  if (!progress && !reading) return null;
  const sending = progress?.phase === 'upload';
  const replaying = !sending && reading?.phase === 'replaying';
  const name = sending ? progress!.name : reading?.name ?? progress?.name ?? '';
  const [done, total] = sending ? [progress!.loaded, progress!.total] : replaying ? [reading!.replayed ?? 0, reading!.toReplay ?? 0] : [reading?.bytesRead ?? 0, reading?.totalBytes ?? 0];
  const amount = replaying ? `${done} of ${total} connection${total === 1 ? '' : 's'} left at its end` : `${formatBytes(done)} of ${formatBytes(total)}`;
  const frames = !sending && reading?.frames ? ` · ${reading.frames.toLocaleString('en-US')} frame${reading.frames === 1 ? '' : 's'}` : '';
  const prefix = !sending ? reading?.prefix : undefined;
  const stop = async () => {
    if (!prefix) return;
    const result = await api.closeRecording(prefix);
    if (!result.ok) setNotice({ kind: 'error', text: result.error });
  };
  return (
    <span className="open-progress" data-testid="open-progress" role="status">
      <span className="open-progress-label" title={`${sending ? 'Sending' : replaying ? 'Replaying' : 'Reading'} ${name}`}>
        {sending ? 'Sending' : replaying ? 'Replaying' : 'Reading'} {name}{total > 0 ? `: ${amount}` : '…'}{frames}
      </span>
      <progress max={1} value={total > 0 ? done / total : undefined} aria-label="Opening the recording" />
      {prefix && <button className="link small-link" onClick={() => void stop()} title="Stop reading the file and close this recording">cancel</button>}
    </span>
  );
}

export function SessionBar() {
  const setNotice = useInspector((s) => s.setNotice);
  const select = useInspector((s) => s.selectConnection);
  const selectedId = useInspector((s) => s.selectedConnectionId);
  const recorder = useInspector((s) => s.status?.recorder);
  const opening = useSessionUi((s) => s.progress !== null);
  const fileInput = useRef<HTMLInputElement>(null);
  const [cap, setCap] = useState(String(DEFAULT_CAP));
  const [format, setFormat] = useState<ExportFormat>('pcapng');
  const [scope, setScope] = useState<'all' | 'selected' | 'frame' | 'shown'>('all');
  // A primitive (connection id and frame number), so the bar re-renders only when the selection changes.
  const selectedFrame = useInspector((s) => {
    const row = s.selectedFrameKey ? s.framesByKey.get(s.selectedFrameKey) : undefined;
    return row ? `${row.frame.frameId} ${row.connectionId}` : null;
  });
  const [busy, setBusy] = useState(false);

  const open = async (file: File | null) => {
    // Reading a large file takes a while: a connection the person selects meanwhile stays selected.
    const selectedBefore = useInspector.getState().selectedConnectionId;
    const untouched = () => [selectedBefore, null].includes(useInspector.getState().selectedConnectionId);
    const answer = await openRecordingFile(file);
    if (fileInput.current) fileInput.current.value = '';
    if (!answer.ok) {
      if (answer.error !== 'Cancelled.') setNotice({ kind: 'error', text: answer.error });
      return;
    }
    const r = answer.recording;
    setNotice(answer.warning ? { kind: 'error', text: answer.warning } : { kind: 'info', text: `Opened ${r.name}: ${r.connections} connection${r.connections === 1 ? '' : 's'}, ${r.frames} frame${r.frames === 1 ? '' : 's'}, read-only.` });
    // The connections arrive with a status push, which the page applies at its next frame (late on
    // a loaded machine, none at all in a background tab): select the first once it is listed,
    // unless the person selected another connection since the file was chosen.
    const first = () => useInspector.getState().status?.connections.find((c) => c.id.startsWith(r.prefix))?.id;
    const id = await untilStore(() => (untouched() ? first() ?? false : null), OPENED_LISTING_WAIT_MS);
    if (id) select(id);
  };

  const toggleRecord = async () => {
    setBusy(true);
    const capBytes = Number(cap);
    const result = recorder?.recording ? await api.stopRecording() : await api.startRecording(Number.isInteger(capBytes) && cap.trim() !== '' ? capBytes : -1);
    setBusy(false);
    if (!result.ok) setNotice({ kind: 'error', text: result.error });
  };

  const save = async () => {
    const result = await api.saveSession();
    if (!result.ok) return setNotice({ kind: 'error', text: result.error });
    downloadBytes(result.bytes, result.name);
  };

  const exportNow = async () => {
    const [frameId, frameConnection] = selectedFrame ? [Number(selectedFrame.slice(0, selectedFrame.indexOf(' '))), selectedFrame.slice(selectedFrame.indexOf(' ') + 1)] : [0, ''];
    // The frames the timeline shows now (its filters and search), of the selected connection.
    const shown = scope === 'shown' && selectedId ? shownFrameIds(useInspector.getState(), selectedId) : [];
    if (scope === 'shown' && shown.length === 0) return setNotice({ kind: 'error', text: 'The timeline shows no frame of this connection: change the filter or search, or export the whole connection.' });
    const result = await api.exportSession({
      format,
      ...(scope === 'selected' && selectedId ? { connectionIds: [selectedId] } : {}),
      ...(scope === 'frame' && selectedFrame ? { frames: { connectionId: frameConnection, frameIds: [frameId] } } : {}),
      ...(scope === 'shown' && selectedId ? { frames: { connectionId: selectedId, frameIds: shown } } : {}),
    });
    if (!result.ok) return setNotice({ kind: 'error', text: result.error });
    downloadBytes(result.bytes, result.name, format === 'pcapng' ? 'application/vnd.tcpdump.pcap' : 'application/json');
    const what = scope === 'shown' ? `the ${shown.length} frame${shown.length === 1 ? '' : 's'} shown` : `${result.connections} connection${result.connections === 1 ? '' : 's'}`;
    setNotice({ kind: 'info', text: `Exported ${what} as ${format}: ${result.name}.` });
  };

  return (
    <div className="session-bar" aria-label="Sessions">
      <span className="session-group">
        {webBridgeToken ? (
          <>
            <input
              ref={fileInput} type="file" className="visually-hidden" data-testid="open-recording-input" aria-label="Recording file"
              accept=".wsi,.json,.har,.pcap,.pcapng,.cap,application/json,application/vnd.tcpdump.pcap"
              onChange={(e) => void open(e.target.files?.[0] ?? null)}
            />
            <button className="button small" onClick={() => fileInput.current?.click()} disabled={opening} title="Open a session file, our JSON export, a HAR file from browser DevTools, or a pcap/pcapng capture (tcpdump, Wireshark): read-only, every view works on it">
              Open recording…
            </button>
          </>
        ) : (
          <button className="button small" onClick={() => void open(null)} title="Open a session file, JSON export, HAR or pcap/pcapng capture, read-only">Open recording…</button>
        )}
        <OpenProgressBar />
      </span>
      <span className="session-group">
        <label title="Per frame, keep at most this many payload bytes in the session file; the rest is counted as elided (the header is always whole)">
          Cap <input className="input cap" value={cap} onChange={(e) => setCap(e.target.value)} disabled={recorder?.recording} inputMode="numeric" aria-label="Per-frame cap in bytes" />
        </label>
        <button className={`button small ${recorder?.recording ? 'recording-on' : ''}`} onClick={() => void toggleRecord()} disabled={busy} data-testid="record-button" title="Record every live connection (bytes, times, notes) to a session file as it happens">
          {recorder?.recording ? '■ Stop' : '● Record'}
        </button>
        {recorder && recorder.startedAt !== null && (
          <span className="muted" data-testid="recorder-status">{recorder.recording ? 'recording' : 'recorded'} · {formatBytes(recorder.bytes)}</span>
        )}
        <button className="button small" onClick={() => void save()} disabled={!recorder || recorder.startedAt === null} data-testid="save-session" title="Download the session file (open it again here or with wsinspect open)">Save</button>
      </span>
      <span className="session-group">
        <label>
          Export
          <select className="input" value={scope} onChange={(e) => setScope(e.target.value as 'all' | 'selected' | 'frame' | 'shown')} aria-label="Export what">
            <option value="all">everything</option>
            <option value="selected" disabled={!selectedId}>this connection</option>
            <option value="frame" disabled={!selectedFrame} title="The opening handshake and the selected frame">selected frame</option>
            <option value="shown" disabled={!selectedId} title="The opening handshake and the frames of this connection that the timeline shows now (its direction and type filters, search and display filter)">frames shown</option>
          </select>
        </label>
        <select className="input" value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)} aria-label="Export format" title={formatHelp[format]}>
          {exportFormats.map((f) => <option key={f} value={f}>{f === 'pcapng' ? 'pcapng' : f === 'har' ? 'HAR' : 'JSON'}</option>)}
        </select>
        <button className="button small" onClick={() => void exportNow()} data-testid="export-button" title="Export opened recordings and what was recorded (press Record before connecting to export live connections)">Export</button>
      </span>
    </div>
  );
}
