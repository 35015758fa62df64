import { defaultRangeExtractor, useVirtualizer, type Range } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { api } from '../bridge.ts';
import { IncrementalFrameFilter, type TimelineItem } from '../lib/frame-filter.ts';
import { describeCloseCode, describeOpcode } from '../../../core/constants.ts';
import { formatTime, lifecyclePositions, MessageItem, type LifecycleRow, type TimeMode, type TimelineMode } from '../lib/timeline.ts';
import { isFailureCloseCode } from '../lib/wire-log.ts';
import { foldDetail, foldExplanation, foldTitle, mergeBySeq, type FoldRow } from '../lib/fold-rows.ts';
import { findConnection, frameRingChoices, holdsFrame, isRecordingId, useInspector, type DirectionFilter, type FrameRow, type TypeFilter } from '../store/store.ts';
import { DisplayFilterInput } from './DisplayFilterInput.tsx';

const ROW_HEIGHT = 26;
const OVERSCAN = 8;

/** 150000 → "150k", 1000000 → "1M". */
function compactCount(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`;
}

/** The search box's id: `/` anywhere focuses it. */
export const SEARCH_INPUT_ID = 'frame-search';

function Row({ row, selected, onSelect, role, observed, recording, time, spanning }: { row: FrameRow; selected: boolean; onSelect: () => void; role: string; observed: boolean; recording: boolean; time: string; spanning: boolean }) {
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
      <span className="c-id" title={spanning ? row.connectionId : undefined}>#{f.frameId}</span>
      <span className="c-time">{time}</span>
      <span className={`c-dir dir-${row.direction}`} title={who}>{arrow} {row.direction === 'in' ? 'recv' : 'sent'}</span>
      <span className={`c-op op-${op.control ? 'control' : 'data'} ${op.reserved ? 'op-reserved' : ''}`}>{op.name}</span>
      <span className="c-flag" title="FIN" aria-label={f.fin ? 'FIN 1: final fragment' : 'FIN 0: more fragments follow'}>{f.fin ? '1' : '0'}</span>
      <span className={`c-flag ${rsv !== '000' && !(row.compressedFirst && rsv === '100') ? 'bad' : ''}`} title={row.compressedFirst ? 'RSV1: compressed (permessage-deflate, RFC 7692 §6)' : 'RSV1-3'}>{rsv}</span>
      <span className="c-flag" title="MASK" aria-label={f.masked ? 'MASK 1: masked' : 'MASK 0: not masked'}>{f.masked ? '1' : '0'}</span>
      <span className="c-len">{row.payloadLengthText}</span>
      <span className="c-preview">
        {row.compressed && <span className="z-badge" data-testid="compressed-badge" title={`A frame of a compressed message (permessage-deflate, RFC 7692): ${f.payloadLength} DEFLATE bytes on the wire; the preview shows what they inflate to`}>deflate</span>}
        {row.editedOriginal && <span className="z-badge edited" data-testid="edited-badge" title={`Edited in the debugger before release: not the bytes that ${row.direction === 'in' ? 'arrived' : 'were produced'} (${row.editedOriginal.length} bytes originally; select the frame to see them)`}>edited</span>}
        {spanning && <span className="conn-badge">{row.connectionId}</span>}
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

/** One message: its frames folded in (a fragmented message, §5.4), or one control frame. */
function MessageRowView({ message, selected, onSelect, time, spanning }: { message: MessageItem; selected: boolean; onSelect: () => void; time: string; spanning: boolean }) {
  const first = message.first;
  const op = describeOpcode(message.opcode);
  const violation = message.frames.find((f) => f.violation)?.violation;
  const ids = message.frames.length === 1 ? `#${first.frameId}` : `#${first.frameId}–${message.last.frameId}`;
  const preview = message.frames.length === 1 ? first.preview : message.opcode === 2 ? first.preview : message.frames.slice(0, 4).map((f) => f.preview).join('');
  return (
    <div className={`frame-row message-row ${selected ? 'selected' : ''} ${violation ? 'violation' : ''} dir-${message.direction}`} onClick={onSelect} role="row" aria-selected={selected} data-testid="message-row" data-frame-key={first.key} data-frames={message.frames.length}>
      <span className="c-id" title={`frames ${message.frames.map((f) => `#${f.frameId}`).join(', ')}`}>{ids}</span>
      <span className="c-time">{time}</span>
      <span className={`c-dir dir-${message.direction}`}>{message.direction === 'in' ? '← recv' : '→ sent'}</span>
      <span className={`c-op op-${op.control ? 'control' : 'data'}`}>{op.name}</span>
      <span className="c-frames" data-testid="message-frames" title="frames in this message">{message.frames.length} {message.frames.length === 1 ? 'frame' : 'frames'}{message.complete ? '' : ' …'}</span>
      <span className="c-len">{message.length}</span>
      <span className="c-preview">
        {spanning && <span className="conn-badge">{message.connectionId}</span>}
        {message.frames.some((f) => f.compressed) && <span className="z-badge">deflate</span>}
        {preview}
      </span>
      <span className="c-warn">{violation ? `⚠ ${violation.closeCode}` : ''}</span>
    </div>
  );
}

/** A step of the connection's life (TCP, TLS, handshake, open, close, errors) in the timeline. */
function LifecycleRowView({ row, time }: { row: LifecycleRow; time: string }) {
  return (
    <div className={`frame-row lifecycle-row ${row.error ? 'error' : ''}`} role="row" data-testid="lifecycle-row" data-label={row.label}>
      <span className="c-id">•</span>
      <span className="c-time">{time}</span>
      <span className="c-life">{row.label}</span>
      <span className="c-preview" title={row.detail}>{row.detail}</span>
    </div>
  );
}

/** Frames the service folded for this window (issue 17): their exact counts, where they were. */
function FoldRowView({ row, time }: { row: FoldRow; time: string }) {
  const fold = row.fold;
  return (
    <div className={`frame-row fold-row ${fold.open ? 'open' : ''}`} role="row" data-testid="fold-row" data-frames={fold.frames} data-fold-id={fold.id} data-first-frame-id={fold.firstFrameId} data-last-frame-id={fold.lastFrameId} data-kinds={fold.kinds.map((k) => `${k.direction}:${k.opcode}=${k.frames}`).join(',')} data-open={fold.open} title={foldExplanation(fold)}>
      <span className="c-id">⋯</span>
      <span className="c-time">{time}</span>
      <span className="c-fold" data-testid="fold-title">{foldTitle(fold)}</span>
      <span className="c-preview" data-testid="fold-detail" title={foldDetail(fold)}>{foldDetail(fold)}</span>
    </div>
  );
}

type SideRow = LifecycleRow | FoldRow;
type ListItem = TimelineItem | SideRow;

/** Rows between the frames (a lifecycle step, a fold): shown, never selected. */
const isSideRow = (item: ListItem): item is SideRow => {
  const kind = (item as SideRow).kind;
  return kind === 'lifecycle' || kind === 'fold';
};

/**
 * The selected connection's timeline: every frame (or every message, its frames folded in) in
 * wire order, both directions, with the connection's lifecycle between them; filterable by
 * direction, type, a search over the full payload as held, and the display-filter language.
 * Virtualised. Keyboard: arrows, Page Up/Down, Home/End move the selection; Enter opens.
 */
export function FrameList() {
  const frameVersion = useInspector((s) => s.frameVersion);
  const connectionId = useInspector((s) => s.selectedConnectionId);
  const direction = useInspector((s) => s.direction);
  const type = useInspector((s) => s.type);
  const search = useInspector((s) => s.search);
  const displayFilter = useInspector((s) => s.displayFilter);
  const mode = useInspector((s) => s.timelineMode);
  const timeMode = useInspector((s) => s.timeMode);
  const autoScroll = useInspector((s) => s.autoScroll);
  const setFilter = useInspector((s) => s.setFilter);
  const selectedKey = useInspector((s) => s.selectedFrameKey);
  const selectFrame = useInspector((s) => s.selectFrame);
  const clearTrace = useInspector((s) => s.clearTrace);
  const maxFrames = useInspector((s) => s.maxFrames);
  const setMaxFrames = useInspector((s) => s.setMaxFrames);
  // Primitives, not the summary object: status pushes replace it, and must not re-render the list.
  const role = useInspector((s) => findConnection(s, s.selectedConnectionId)?.role ?? 'server');
  const connectionStart = useInspector((s) => findConnection(s, s.selectedConnectionId)?.openedAt ?? 0);
  const lifecycle = useInspector((s) => (connectionId ? s.details[connectionId]?.lifecycle : undefined));
  const folds = useInspector((s) => (connectionId ? s.details[connectionId]?.folds : undefined));
  const recording = isRecordingId(connectionId);
  const observedByFrame = useInspector((s) => s.observedByFrame);
  const parentRef = useRef<HTMLDivElement>(null);

  // Incremental: each batch costs what it adds, not the whole ring (issue 6, UI under flood).
  const filter = useRef(new IncrementalFrameFilter()).current;
  const evictedFrames = useInspector((s) => s.evictedFrames);
  const dropped = useInspector((s) => (connectionId ? s.droppedByConnection.get(connectionId) ?? 0 : 0));
  // Frames over 64 KiB are held cut: the service searches their full bytes (once the list is quiet for a moment).
  const [cutMatches, setCutMatches] = useState<{ connectionId: string; search: string; frameIds: ReadonlySet<number> } | undefined>(undefined);
  const searchLive = search.trim() !== '' && !recording && connectionId !== null;
  useEffect(() => {
    if (!searchLive) return;
    // An answer for a search since changed (or a list since grown) is dropped: answers can come
    // out of order, and an older one would replace the newer one's matches.
    let current = true;
    const timer = setTimeout(() => {
      void api.searchCutFrames(connectionId, search).then((result) => {
        if (!current || !result.ok) return;
        setCutMatches((old) => (old && old.connectionId === connectionId && old.search === search && old.frameIds.size === result.frameIds.length && result.frameIds.every((id) => old.frameIds.has(id)) ? old : { connectionId, search, frameIds: new Set(result.frameIds) }));
      });
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [searchLive, connectionId, search, frameVersion]);
  const { rows, totalForConnection, compiled } = useMemo(() => {
    const state = useInspector.getState();
    filter.update(state.frames, { connectionId, direction, type, search, display: displayFilter, mode, ...(cutMatches?.connectionId === connectionId ? { cutMatches } : {}) }, evictedFrames, (row) => holdsFrame(state, row));
    return { rows: filter.rows, totalForConnection: filter.total, compiled: filter.compiled, version: filter.version };
    // frameVersion: frames were added, evicted or replaced
  }, [frameVersion, evictedFrames, connectionId, direction, type, search, displayFilter, mode, filter, cutMatches]);
  const spanning = compiled.allConnections;
  // Lifecycle rows belong to the unfiltered timeline of one connection.
  const unfiltered = direction === 'all' && type === 'all' && !compiled.search && !compiled.display;
  // Folded rows show whatever the filters: their frames were never here to filter.
  const life = useMemo(() => mergeBySeq<SideRow, SideRow>(unfiltered && lifecycle ? lifecycle : [], folds?.rows ?? []), [unfiltered, lifecycle, folds]);
  const folded = folds?.frames ?? 0;
  const lifeAt = lifecyclePositions(rows, life);
  const count = rows.length + life.length;
  const itemAt = (index: number): ListItem => {
    let before = 0;
    for (let k = 0; k < lifeAt.length; k++) {
      if (lifeAt[k] === index) return life[k]!;
      if (lifeAt[k]! < index) before++;
      else break;
    }
    return rows[index - before]!;
  };

  // Following new frames: render the tail and scroll there once, after React's commit. The
  // virtualizer's own scrollToIndex would read the layout, scroll, and render the list twice
  // per batch; here there is one layout per frame.
  const following = autoScroll && count > 0;
  // The viewport's height as the virtualizer last observed it (its ResizeObserver: no layout read).
  const viewportHeight = useRef(0);
  const virtualizer = useVirtualizer({
    count,
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
    const bottom = Math.max(0, count * ROW_HEIGHT - (viewportHeight.current || el.clientHeight));
    if (Math.abs(el.scrollTop - bottom) >= 1) el.scrollTop = bottom;
  }, [count, following, viewport, virtualizer]);

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

  const timeOf = (index: number, item: ListItem): string => {
    let previous: number | null = null;
    if (timeMode === 'delta' && index > 0) previous = itemAt(index - 1).time;
    return formatTime(item.time, timeMode, connectionStart, previous);
  };
  const isSelected = (item: TimelineItem) => (item instanceof MessageItem ? item.frames.some((f) => f.key === selectedKey) : item.key === selectedKey);

  /** Arrows, Page Up/Down, Home/End move the selection over frames or messages (lifecycle rows are skipped). */
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (count === 0) return;
    const page = Math.max(1, Math.floor((viewportHeight.current || 260) / ROW_HEIGHT) - 1);
    const step = e.key === 'ArrowDown' ? 1 : e.key === 'ArrowUp' ? -1 : e.key === 'PageDown' ? page : e.key === 'PageUp' ? -page : e.key === 'Home' ? -Infinity : e.key === 'End' ? Infinity : 0;
    if (e.key === 'Enter') {
      e.preventDefault();
      if (!selectedKey) return;
      // Enter opens: a message opens into its frames; a frame opens its anatomy.
      if (mode === 'messages') setFilter({ timelineMode: 'frames', autoScroll: false });
      else document.querySelector<HTMLElement>('[data-testid=anatomy]')?.focus();
      return;
    }
    if (step === 0) return;
    e.preventDefault();
    let current = -1;
    for (let i = 0; i < count && current < 0; i++) {
      const item = itemAt(i);
      if (!isSideRow(item) && isSelected(item)) current = i;
    }
    let target = step === -Infinity ? 0 : step === Infinity ? count - 1 : current < 0 ? (step > 0 ? 0 : count - 1) : Math.min(count - 1, Math.max(0, current + step));
    const direction = step > 0 ? 1 : -1;
    while (target >= 0 && target < count && isSideRow(itemAt(target))) target += step === -Infinity ? 1 : step === Infinity ? -1 : direction;
    if (target < 0 || target >= count) return;
    const item = itemAt(target) as TimelineItem;
    selectFrame(item instanceof MessageItem ? item.first.key : item.key);
    if (autoScroll && target < count - 1) setFilter({ autoScroll: false });
    virtualizer.scrollToIndex(target, { align: 'auto' });
  };

  const noun = mode === 'messages' ? 'messages' : 'frames';
  return (
    <section className="frame-list" aria-label={mode === 'messages' ? 'Messages' : 'Frames'}>
      <div className="filter-bar">
        <select className="input" value={mode} onChange={(e) => setFilter({ timelineMode: e.target.value as TimelineMode })} aria-label="Timeline rows" data-testid="timeline-mode" title="One row per frame, or one per message with its frames folded in (§5.4)">
          <option value="frames">frames</option>
          <option value="messages">messages</option>
        </select>
        <select className="input" value={direction} onChange={(e) => setFilter({ direction: e.target.value as DirectionFilter })} aria-label="Direction filter">
          <option value="all">in + out</option>
          <option value="in">received</option>
          <option value="out">sent</option>
        </select>
        <select className="input" value={type} onChange={(e) => setFilter({ type: e.target.value as TypeFilter })} aria-label="Type filter">
          <option value="all">all types</option>
          <option value="data">data frames</option>
          <option value="control">control frames</option>
          <option value="text">text</option>
          <option value="binary">binary</option>
          <option value="continuation">continuation</option>
          <option value="close">close</option>
          <option value="ping">ping</option>
          <option value="pong">pong</option>
          <option value="violations">violations</option>
          <option value="compressed">compressed</option>
        </select>
        <select className="input" value={timeMode} onChange={(e) => setFilter({ timeMode: e.target.value as TimeMode })} aria-label="Time" data-testid="time-mode" title="Times: the clock, since the connection opened, or since the row before">
          <option value="absolute">clock</option>
          <option value="connection">+ since open</option>
          <option value="delta">+ since previous</option>
        </select>
        <label className="toggle" title="Keep the newest frame in view as frames arrive (scrolling up pauses it)">
          <input type="checkbox" checked={autoScroll} onChange={(e) => setFilter({ autoScroll: e.target.checked })} aria-label="follow new frames" /> follow
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
        <span className="count" data-testid="frame-count" data-total={totalForConnection + dropped + folded}>{rows.length === totalForConnection ? `${rows.length} ${noun}` : `${rows.length} of ${totalForConnection} ${noun}`}{spanning ? ', all connections' : ''}</span>
        {folded > 0 && (
          <span className="count folded" data-testid="frames-folded" data-folded={folded} title="Frames this window could not show as fast as they crossed the wire: the inspector folded them into rows with exact counts instead of falling behind">
            (+{folded.toLocaleString('en')} folded)
          </span>
        )}
        {dropped > 0 && (
          <span className="count" data-testid="frames-dropped" title="The inspector keeps the most recent frames (a ring), so a long session stays within bounded memory">
            (+{dropped.toLocaleString()} older dropped)
          </span>
        )}
      </div>
      <div className="filter-bar search-bar">
        <input
          id={SEARCH_INPUT_ID}
          className={`input search ${compiled.searchError ? 'invalid' : ''}`}
          placeholder="Search payloads: text, /regex/i, hex:81 05  (press /)"
          value={search}
          onChange={(e) => setFilter({ search: e.target.value })}
          aria-label="Search"
          aria-invalid={compiled.searchError ? true : undefined}
          title="Searches the whole payload as held (up to 64 KiB a frame): plain text in any case, a /regular expression/ with flags i, s, m, or hex:81 05 for bytes in the payload or on the wire. Press / to come here."
        />
        <DisplayFilterInput value={displayFilter} onChange={(v) => setFilter({ displayFilter: v })} error={compiled.displayError} />
        {compiled.searchError && <div className="filter-error" role="alert" data-testid="search-error">{compiled.searchError}</div>}
      </div>
      {mode === 'messages' ? (
        <div className="frame-head message-head" role="row">
          <span className="c-id">#</span><span className="c-time">time</span><span className="c-dir">dir</span><span className="c-op">type</span>
          <span className="c-frames">frames</span><span className="c-len">length</span><span className="c-preview">payload</span><span className="c-warn" />
        </div>
      ) : (
        <div className="frame-head" role="row">
          <span className="c-id">#</span><span className="c-time">time</span><span className="c-dir">dir</span><span className="c-op">opcode</span>
          <span className="c-flag">FIN</span><span className="c-flag">RSV</span><span className="c-flag">MASK</span><span className="c-len">length</span>
          <span className="c-preview">payload</span><span className="c-warn" />
        </div>
      )}
      <div className="frame-scroll" ref={parentRef} onScroll={onScroll} onKeyDown={onKeyDown} role="grid" tabIndex={0} aria-label={`${noun}: arrows move the selection, Enter opens`} data-testid="timeline">
        {count === 0 ? (
          <p className="hint pad">{totalForConnection === 0 ? (recording ? 'This case put no frame on the wire (see the case log above).' : 'No frames yet on this connection. Send a message from either side.') : `No ${mode === 'messages' ? 'message' : 'frame'} matches the filters.`}</p>
        ) : (
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }} data-testid="frame-rows">
            {rendered.map((v) => {
              const item = itemAt(v.index);
              const time = timeOf(v.index, item);
              return (
                <div key={v.index % rendered.length} style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${v.start}px)` }}>
                  {isSideRow(item) ? (
                    item.kind === 'fold' ? <FoldRowView row={item} time={time} /> : <LifecycleRowView row={item} time={time} />
                  ) : item instanceof MessageItem ? (
                    <MessageRowView message={item} time={time} spanning={spanning} selected={isSelected(item)} onSelect={() => selectFrame(item.first.key)} />
                  ) : (
                    <Row row={item} time={time} spanning={spanning} role={role} recording={recording} observed={observedByFrame.has(item.key)} selected={item.key === selectedKey} onSelect={() => selectFrame(item.key)} />
                  )}
                </div>
              );
            })}
          </div>
        )}
      </div>
    </section>
  );
}
