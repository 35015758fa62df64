/**
 * The Pipeline's last stage (issue 15, "Pictures"): the socket writes a sent message's frames left
 * in, or the reads a received one arrived in, as the service kept them (src/service/raw-chunks.ts,
 * asked through rawCarriers). Each write/read is a bar cut into the runs it held: a frame whole, a
 * piece of a frame split across writes, several frames in one read, bytes that are no frame's.
 */
import { useEffect, useState } from 'react';
import { toHex } from '../../../core/bytes.ts';
import type { Direction } from '../../../core/trace.ts';
import { RAW_CARRIERS_MAX_SPAN, type RawCarriers, type RawChunkInfo, type RawChunkSegment } from '../../../shared/raw-chunks-api.ts';
import { api } from '../bridge.ts';
import { isRecordingId } from '../store/store.ts';
import './pipeline-writes.css';

interface Props {
  connectionId: string;
  /** The message's frames, in order (all of one direction). */
  frameIds: number[];
  direction: Direction;
}

/** Times a stage with bytes not yet written asks again, half a second apart. */
const RETRIES = 20;

type Answer = { state: 'loading' } | { state: 'error'; error: string } | { state: 'ok'; carriers: RawCarriers };

const plural = (n: number, word: string) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;

/** "frame 2" for the message's own frames, "frame #14" (another message's) for the rest. */
function frameName(frameIds: number[], frameId: number): string {
  const i = frameIds.indexOf(frameId);
  return i >= 0 ? `frame ${i + 1}` : `frame #${frameId}`;
}

function segmentLabel(frameIds: number[], s: RawChunkSegment): string {
  if (s.frameId === null) return `${plural(s.length, 'byte')} not of a frame (HTTP head or raw bytes)`;
  const name = frameName(frameIds, s.frameId);
  const whole = s.frameAt === 0 && s.length === s.frameLength;
  const what = whole ? `all of ${name}` : `${name} bytes ${s.frameAt}–${s.frameAt + s.length - 1} of ${s.frameLength}`;
  return `${what}${s.asked ? '' : ' (another message)'}: ${plural(s.length, 'byte')}`;
}

function Chunk({ chunk, frameIds, word }: { chunk: RawChunkInfo; frameIds: number[]; word: string }) {
  const framesHeld = new Set(chunk.segments.flatMap((s) => (s.frameId === null ? [] : [s.frameId])));
  return (
    <div className="pw-chunk" data-testid="pipeline-chunk">
      <div className="pw-chunk-head">
        <span className="pw-name">{word} {chunk.ordinal}</span>
        <span className="muted"> · {plural(chunk.length, 'byte')} · stream bytes {chunk.offset.toLocaleString('en')}–{(chunk.offset + chunk.length - 1).toLocaleString('en')}</span>
        {framesHeld.size > 1 && <span className="pw-tag"> · {framesHeld.size} frames in one {word}</span>}
      </div>
      <div className="pw-bar" role="img" aria-label={`${word} ${chunk.ordinal}: ${chunk.segments.map((s) => segmentLabel(frameIds, s)).join('; ')}`}>
        {chunk.segments.map((s) => {
          const index = s.frameId === null ? -1 : frameIds.indexOf(s.frameId);
          const cls = s.frameId === null ? 'pw-seg other' : s.asked ? `pw-seg f${index % 6}` : 'pw-seg foreign';
          return (
            <div key={s.at} className={cls} style={{ flexGrow: Math.max(1, Math.log2(1 + s.length)) }} title={segmentLabel(frameIds, s)} data-testid="pipeline-run">
              <div className="pw-seg-label">{s.frameId === null ? 'not a frame' : frameName(frameIds, s.frameId)}{s.frameId !== null && !(s.frameAt === 0 && s.length === s.frameLength) ? ` [${s.frameAt}–${s.frameAt + s.length - 1}]` : ''}</div>
              <div className="pw-seg-size">{plural(s.length, 'byte')}</div>
              <div className="pw-seg-hex">{toHex(s.preview, ' ')}{s.preview.length < s.length ? ' …' : ''}</div>
            </div>
          );
        })}
        {chunk.moreSegments > 0 && <div className="pw-seg other"><div className="pw-seg-label">+{chunk.moreSegments} more runs</div></div>}
      </div>
    </div>
  );
}

/** Frames that went in more than one write/read: "frame 3 is split across writes 4 and 5". */
function splits(carriers: RawCarriers, frameIds: number[], word: string): string[] {
  const where = new Map<number, number[]>();
  for (const c of carriers.chunks) {
    for (const s of c.segments) if (s.frameId !== null && s.asked) where.set(s.frameId, [...(where.get(s.frameId) ?? []), c.ordinal]);
  }
  return [...where].filter(([, at]) => at.length > 1)
    .map(([id, at]) => `${frameName(frameIds, id)} is split across ${word}s ${at.slice(0, -1).join(', ')} and ${at.at(-1)}`);
}

export function PipelineWrites({ connectionId, frameIds, direction }: Props) {
  const [answer, setAnswer] = useState<Answer>({ state: 'loading' });
  // Bytes not written yet (a crafted frame's timed writes, backpressure): ask again a few times.
  const [retry, setRetry] = useState(0);
  const first = frameIds[0] ?? 0;
  // A request spans at most RAW_CARRIERS_MAX_SPAN frame ids: a longer message is shown from its start.
  const last = Math.min(frameIds.at(-1) ?? 0, first + RAW_CARRIERS_MAX_SPAN);
  useEffect(() => setRetry(0), [connectionId, first, last, frameIds.length]);
  useEffect(() => {
    if (isRecordingId(connectionId) || first < 1) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (retry === 0) setAnswer({ state: 'loading' });
    void api.rawCarriers({ connectionId, firstFrameId: first, lastFrameId: last }).then(
      (r) => {
        if (!live) return;
        setAnswer(r.ok ? { state: 'ok', carriers: r } : { state: 'error', error: r.error });
        if (r.ok && r.missing.notYetSeen > 0 && retry < RETRIES) timer = setTimeout(() => setRetry((n) => n + 1), 500);
      },
      (e: unknown) => live && setAnswer({ state: 'error', error: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [connectionId, first, last, frameIds.length, retry]);

  const word = direction === 'out' ? 'write' : 'read';
  if (isRecordingId(connectionId)) {
    return <p className="hint" data-testid="pipeline-writes">A recording keeps the bytes of each direction as captured, not this app&apos;s socket writes and reads: open it in Wireshark for its TCP segments.</p>;
  }
  if (answer.state === 'loading') return <p className="hint" data-testid="pipeline-writes">Asking the service for the {word}s…</p>;
  if (answer.state === 'error') return <p className="hint" data-testid="pipeline-writes">{answer.error}</p>;
  const c = answer.carriers;
  const misaligned = c.frames.filter((f) => f.aligned === false);
  const splitLines = splits(c, frameIds, word);
  const shared = c.chunks.filter((ch) => new Set(ch.segments.flatMap((s) => (s.frameId === null ? [] : [s.frameId]))).size > 1);
  return (
    <div data-testid="pipeline-writes">
      <p className="hint" data-testid="pipeline-writes-summary">
        {frameIds.length > c.frames.length ? `The first ${c.frames.length} of its ${frameIds.length.toLocaleString('en')} frames` : c.frames.length === 1 ? 'Its frame' : `Its ${c.frames.length} frames`} ({plural(c.frames.reduce((n, f) => n + f.length, 0), 'byte')}) {direction === 'out' ? 'left in' : 'arrived in'} {plural(c.chunks.length + c.moreChunks, word)}
        {splitLines.length > 0 && `; ${splitLines.join('; ')}`}
        {shared.length > 0 && `; ${shared.map((ch) => `${word} ${ch.ordinal} holds ${new Set(ch.segments.flatMap((s) => (s.frameId === null ? [] : [s.frameId]))).size} frames`).join(', ')}`}.
      </p>
      <div className="pw-chunks">
        {c.chunks.map((ch) => <Chunk key={ch.ordinal} chunk={ch} frameIds={frameIds} word={word} />)}
        {c.moreChunks > 0 && <p className="hint">…and {plural(c.moreChunks, `more ${word}`)} not listed.</p>}
      </div>
      {c.missing.dropped > 0 && (
        <p className="hint warn-text">{plural(c.missing.dropped, 'byte')} of these frames were in {word}s no longer kept: the service keeps the most recent {word}s of each connection (1 MiB), and has dropped {plural(c.dropped.chunks, word)} of this one so far.</p>
      )}
      {c.missing.notYetSeen > 0 && <p className="hint">{plural(c.missing.notYetSeen, 'byte')} of these frames {direction === 'out' ? 'are not written yet' : 'have not arrived yet'}.</p>}
      {misaligned.length > 0 && (
        <p className="hint warn-text">The kept bytes where {misaligned.map((f) => frameName(frameIds, f.frameId)).join(', ')} should start do not begin with its first byte: this picture of the {word}s cannot be trusted for {misaligned.length === 1 ? 'it' : 'them'}.</p>
      )}
      <p className="hint">
        {direction === 'out'
          ? 'Each write is one call handing bytes to the socket, as this app made it; offsets count the connection\'s bytes in this direction from its first (the HTTP head included; for wss://, the bytes before encryption). The kernel cuts the stream into TCP segments as it likes and may join writes made together (Node sends writes queued in one go with one system call): a capture shows the segments.'
          : 'Each read is one chunk the socket delivered to this app: TCP keeps no message boundaries, so a read holds whatever had arrived, several frames or part of one. How the peer wrote them cannot be seen from this side. Offsets count the connection\'s bytes in this direction from its first (the HTTP head included; for wss://, the bytes after decryption).'}
      </p>
    </div>
  );
}
