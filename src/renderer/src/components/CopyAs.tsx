/**
 * "Copy as" for the selected frame (issue 13): its payload as hex, base64, text, a C array or a
 * Uint8Array, or the wsinspect line that sends the frame again. A frame cut for display is
 * copied whole (its full bytes come from the service while it keeps them).
 */
import { useState } from 'react';
import { api } from '../bridge.ts';
import { copyFormats, copyText, type CopyFormat } from '../lib/copy-as.ts';
import { findConnection, useInspector, type FrameRow } from '../store/store.ts';
import './session.css';

async function writeClipboard(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

export function CopyAs({ row }: { row: FrameRow }) {
  const url = useInspector((s) => {
    const c = findConnection(s, row.connectionId);
    return c?.url ?? s.status?.server.url ?? 'ws://127.0.0.1:9001/';
  });
  const [done, setDone] = useState<string | null>(null);
  const copy = async (format: CopyFormat, label: string) => {
    let frame = { raw: row.frame.raw, payload: row.frame.payload };
    let note = '';
    if (row.frame.truncated) {
      const full = await api.frameBytes(row.connectionId, row.frame.frameId);
      if (full.ok) frame = { raw: full.raw, payload: full.payload };
      else note = ` (only the first ${row.frame.payload.length} bytes: ${full.error})`;
    }
    const text = copyText(format, frame, url);
    const ok = await writeClipboard(text);
    setDone(ok ? `Copied as ${label}${note}.` : 'The clipboard refused it (the page needs focus).');
  };
  return (
    <div className="copy-as" data-testid="copy-as">
      Copy as
      {copyFormats.map((c) => (
        <button key={c.format} className="button" title={c.title} onClick={() => void copy(c.format, c.label)} data-testid={`copy-${c.format}`}>{c.label}</button>
      ))}
      {done && <span className="copy-as-done" role="status">{done}</span>}
    </div>
  );
}
