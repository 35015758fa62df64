import { defaultRangeExtractor, useVirtualizer, type Range } from '@tanstack/react-virtual';
import { useLayoutEffect, useMemo, useRef } from 'react';
import { IncrementalFrameFilter } from '../lib/frame-filter.ts';
import { describeCloseCode, describeOpcode } from '../../../core/constants.ts';
import { isFailureCloseCode } from '../lib/wire-log.ts';
import { findConnection, frameRingChoices, holdsFrame, isRecordingId, useInspector, type DirectionFilter, type FrameRow, type TypeFilter } from '../store/store.ts';

const ROW_HEIGHT = 26;
const OVERSCAN = 8;

/** 150000 → "150k", 1000000 → "1M". */
function compactCount(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`;
}

function clock(time: number): string {
  const d = new Date(time);
  return `${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function Row({ row, selected, onSelect, role, observed, recording }: { row: FrameRow; selected: boolean; onSelect: () => void; role: string; observed: boolean; recording: boolean }) {
  // The row's own fields: building the whole traced frame is for the anatomy view.
  const f = row;
  // In a conformance wire log, the peer under test's failing Close is the reaction the case judges.
  const failedWith = recording && row.direction === 'in' && f.opcode === 8 && isFailureCloseCode(f.close?.code) ? f.close!.code! : null;
  const op = describeOpcode(f.opcode);
  const rsv = `${+f.rsv1}${+f.rsv2}${+f.rsv3}`;
  const arrow = row.direction === 'in' ? '←' : '→';
  const who = row.direction === 'in' ? (role === 'server' ? 'client→server' : 'server→client') : (role === 'server' ? 'server→client' : 'client→server');
  return (
    <div
      className={`frame-row ${selected ? 'selected' : ''} ${observed ? 'observed' : f.violation ? 'violation' : failedWith !== null ? 'peer-failed' : ''} dir-${row.direction}`}
      onClick={onSelect}
      role="row"
      aria-selected={selected}
      data-testid="frame-row"
      data-frame-key={row.key}
    >
      <span className="c-id">#{f.frameId}</span>
      <span className="c-time">{clock(row.time)}</span>
      <span className={`c-dir dir-${row.direction}`} title={who}>{arrow} {row.direction === 'in' ? 'recv' : 'sent'}</span>
      <span className={`c-op op-${op.control ? 'control' : 'data'} ${op.reserved ? 'op-reserved' : ''}`}>{op.name}</span>
      <span className="c-flag" title="FIN" aria-label={f.fin ? 'FIN 1: final fragment' : 'FIN 0: more fragments follow'}>{f.fin ? '1' : '0'}</span>
      <span className={`c-flag ${rsv !== '000' && !(row.compressedFirst && rsv === '100') ? 'bad' : ''}`} title={row.compressedFirst ? 'RSV1: compressed (permessage-deflate, RFC 7692 §6)' : 'RSV1-3'}>{rsv}</span>
      <span className="c-flag" title="MASK" aria-label={f.masked ? 'MASK 1: masked' : 'MASK 0: not masked'}>{f.masked ? '1' : '0'}</span>
      <span className="c-len">{row.payloadLengthText}</span>
      <span className="c-preview">
        {row.compressed && <span className="z-badge" data-testid="compressed-badge" title={`A frame of a compressed message (permessage-deflate, RFC 7692): ${f.payloadLength} DEFLATE bytes on the wire; the preview shows what they inflate to`}>deflate</span>}
        {row.editedOriginal && <span className="z-badge edited" data-testid="edited-badge" title={`Edited in the debugger before release: not the bytes that ${row.direction === 'in' ? 'arrived' : 'were produced'} (${row.editedOriginal.length} bytes originally; select the frame to see them)`}>edited</span>}
        {f.partial ? '[incomplete] ' : ''}{row.preview}
      </span>
      {failedWith !== null && !f.violation && !observed ? (
        <span className="c-warn peer-failed" data-testid="failed-close-badge" title={`The peer under test failed the connection: Close ${failedWith} ${describeCloseCode(failedWith).name} (§7.1.7)`}>⚑ {failedWith}</span>
      ) : observed ? (
        <span className="c-warn observed" data-testid="observed-badge" title={`${f.violation?.code ?? 'violation'} (${f.violation?.rfcSection ?? ''}), flagged by the observe policy: the connection stays open`}>⚑ {f.violation?.closeCode ?? ''}</span>
      ) : (
        <span className="c-warn" title={f.violation ? `${f.violation.code} (${f.violation.rfcSection}): the connection fails with ${f.violation.closeCode}` : undefined}>{f.violation ? `⚠ ${f.violation.closeCode}` : ''}</span>
      )}
    </div>
  );
}

/** Every frame of the selected connection, both directions, filterable and virtualised. */
export function FrameList() {
  const frameVersion = useInspector((s) => s.frameVersion);
  const connectionId = useInspector((s) => s.selectedConnectionId);
  const direction = useInspector((s) => s.direction);
  const type = useInspector((s) => s.type);
  const search = useInspector((s) => s.search);
  const autoScroll = useInspector((s) => s.autoScroll);
  const setFilter = useInspector((s) => s.setFilter);
  const selectedKey = useInspector((s) => s.selectedFrameKey);
  const selectFrame = useInspector((s) => s.selectFrame);
  const clearTrace = useInspector((s) => s.clearTrace);
  const maxFrames = useInspector((s) => s.maxFrames);
  const setMaxFrames = useInspector((s) => s.setMaxFrames);
  const role = useInspector((s) => findConnection(s, s.selectedConnectionId)?.role ?? 'server');
  const recording = isRecordingId(connectionId);
  const observedByFrame = useInspector((s) => s.observedByFrame);
  const parentRef = useRef<HTMLDivElement>(null);

  // Incremental: each batch costs what it adds, not the whole ring (issue 6, UI under flood).
  const filter = useRef(new IncrementalFrameFilter()).current;
  const evictedFrames = useInspector((s) => s.evictedFrames);
  const dropped = useInspector((s) => (connectionId ? s.droppedByConnection.get(connectionId) ?? 0 : 0));
  const { rows, totalForConnection } = useMemo(() => {
    const state = useInspector.getState();
    filter.update(state.frames, { connectionId, direction, type, search }, evictedFrames, (row) => holdsFrame(state, row));
    return { rows: filter.rows, totalForConnection: filter.total, version: filter.version };
    // frameVersion: frames were added, evicted or replaced
  }, [frameVersion, evictedFrames, connectionId, direction, type, search, filter]);

  // Following new frames: render the tail and scroll there once, after React's commit. The
  // virtualizer's own scrollToIndex would read the layout, scroll, and render the list twice
  // per batch; here there is one layout per frame.
  const following = autoScroll && rows.length > 0;
  // The viewport's height as the virtualizer last observed it (its ResizeObserver: no layout read).
  const viewportHeight = useRef(0);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parentRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: OVERSCAN,
    rangeExtractor: (range: Range) => {
      if (!following) return defaultRangeExtractor(range);
      const visible = viewportHeight.current > 0 ? Math.ceil(viewportHeight.current / ROW_HEIGHT) + 1 : 60;
      const first = Math.max(0, range.count - visible - OVERSCAN);
      return Array.from({ length: range.count - first }, (_, i) => first + i);
    },
  });
  viewportHeight.current = virtualizer.scrollRect?.height ?? 0;
  const viewport = viewportHeight.current;

  // Again whenever the viewport's height changes: a shorter list must still end at the newest frame.
  useLayoutEffect(() => {
    const el = parentRef.current;
    if (!following || !el) return;
    const bottom = Math.max(0, rows.length * ROW_HEIGHT - (viewportHeight.current || el.clientHeight));
    if (Math.abs(el.scrollTop - bottom) >= 1) el.scrollTop = bottom;
  }, [rows.length, following, viewport, virtualizer]);

  // Rows are keyed by slot (index modulo how many are rendered), not by frame. The rendered
  // indices are consecutive, so the slots stay the same set as the window slides: the row that
  // leaves hands its elements to the row that enters, and React changes their text instead of
  // building new ones. Under a flood every visible row changes every animation frame; new
  // elements each time meant tens of thousands of DOM nodes a second for the garbage collector.
  const rendered = virtualizer.getVirtualItems();

  const onScroll = () => {
    const el = parentRef.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 2;
    if (!atBottom && autoScroll) setFilter({ autoScroll: false });
  };

  return (
    <section className="frame-list" aria-label="Frames">
      <div className="filter-bar">
        <select className="input" value={direction} onChange={(e) => setFilter({ direction: e.target.value as DirectionFilter })} aria-label="Direction filter">
          <option value="all">both directions</option>
          <option value="in">received</option>
          <option value="out">sent</option>
        </select>
        <select className="input" value={type} onChange={(e) => setFilter({ type: e.target.value as TypeFilter })} aria-label="Type filter">
          <option value="all">all frames</option>
          <option value="data">data frames</option>
          <option value="control">control frames</option>
          <option value="text">text</option>
          <option value="binary">binary</option>
          <option value="continuation">continuation</option>
          <option value="close">close</option>
          <option value="ping">ping</option>
          <option value="pong">pong</option>
          <option value="violations">violations</option>
          <option value="compressed">compressed (permessage-deflate)</option>
        </select>
        <input className="input search" placeholder="Search payloads…" value={search} onChange={(e) => setFilter({ search: e.target.value })} aria-label="Search" />
        <label className="toggle">
          <input type="checkbox" checked={autoScroll} onChange={(e) => setFilter({ autoScroll: e.target.checked })} /> follow new frames
        </label>
        <button className="button small" onClick={clearTrace} title="Forget every frame shown so far (connections stay open)">Clear</button>
        <select
          className="input keep"
          value={maxFrames}
          onChange={(e) => setMaxFrames(Number(e.target.value))}
          aria-label="Frames kept"
          title="The list keeps this many of the most recent frames, all connections together (a ring, about 250 bytes of memory per frame); older ones are dropped"
        >
          {frameRingChoices.map((n) => <option key={n} value={n}>keep {compactCount(n)}</option>)}
        </select>
        <span className="count" data-testid="frame-count" data-total={totalForConnection + dropped}>{rows.length === totalForConnection ? `${rows.length} frames` : `${rows.length} of ${totalForConnection} frames`}</span>
        {dropped > 0 && (
          <span className="count" data-testid="frames-dropped" title="The inspector keeps the most recent frames (a ring), so a long session stays within bounded memory">
            (+{dropped.toLocaleString()} older dropped)
          </span>
        )}
      </div>
      <div className="frame-head" role="row">
        <span className="c-id">#</span><span className="c-time">time</span><span className="c-dir">dir</span><span className="c-op">opcode</span>
        <span className="c-flag">FIN</span><span className="c-flag">RSV</span><span className="c-flag">MASK</span><span className="c-len">length</span>
        <span className="c-preview">payload</span><span className="c-warn" />
      </div>
      <div className="frame-scroll" ref={parentRef} onScroll={onScroll} role="grid">
        {rows.length === 0 ? (
          <p className="hint pad">{totalForConnection === 0 ? (recording ? 'This case put no frame on the wire (see the case log above).' : 'No frames yet on this connection. Send a message from either side.') : 'No frame matches the filters.'}</p>
        ) : (
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }} data-testid="frame-rows">
            {rendered.map((item) => {
              const row = rows[item.index]!;
              return (
                <div key={item.index % rendered.length} style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}>
                  <Row row={row} role={role} recording={recording} observed={observedByFrame.has(row.key)} selected={row.key === selectedKey} onSelect={() => selectFrame(row.key)} />
                </div>
              );
            })}
          </div>
        )}
      </div>
    </section>
  );
}
