import { useMemo, useState } from 'react';
import { Opcode } from '../../../core/constants.ts';
import type { Direction, TracedHead } from '../../../core/trace.ts';
import { arrowLanes, closingQuotes, conversationOf, formatDelay, formatOffset, frameLabel, headLabel, type ConversationShape, type Lane } from '../lib/conversation.ts';
import { useInspector } from '../store/store.ts';
import type { FrameRow } from '../store/frame-row.ts';
import { RfcExpectations, useOpenFrame } from './RfcExpectations.tsx';

/** Rows drawn before folding: a conversation of thousands of frames shows its start and its end. */
const HEAD_ROWS = 150;
const TAIL_ROWS = 150;
const UNFOLD_STEP = 500;

interface LadderRow {
  key: string;
  time: number;
  from: Lane;
  to: Lane;
  label: string;
  kind: 'handshake' | 'data' | 'ping' | 'close' | 'closed';
  /** The frame to open on click. */
  frame?: { connectionId: string; key: string };
  /** A proxy copy: the delay it added. */
  delayUs?: number;
}

const lanePosition = (shape: ConversationShape, lane: Lane): number => {
  const i = shape.lanes.indexOf(lane);
  return shape.lanes.length === 2 ? [20, 80][i]! : [15, 50, 85][i]!;
};

const laneTitle: Record<Lane, string> = { client: 'Client', proxy: 'Inspector', server: 'Server' };

function frameKind(opcode: number): LadderRow['kind'] {
  if (opcode === Opcode.Close) return 'close';
  if (opcode === Opcode.Ping || opcode === Opcode.Pong) return 'ping';
  return 'data';
}

function headRow(shape: ConversationShape, legId: string, role: 'client' | 'server', head: TracedHead | undefined, time: number, extra: string): LadderRow | null {
  if (!head) return null;
  // A request travels from the client side of the leg, a response back to it.
  const direction: Direction = (head.kind === 'request') === (role === 'server') ? 'in' : 'out';
  return { key: `${legId}:${head.kind}`, time, ...arrowLanes(shape, role, direction), label: `${headLabel(head)}${extra}`, kind: 'handshake' };
}

/** Every arrow of the conversation, oldest first. */
function ladderRows(shape: ConversationShape, frames: readonly FrameRow[], details: ReturnType<typeof useInspector.getState>['details'], openedAt: Record<string, number>): LadderRow[] {
  // A handful of rows per leg (heads, TCP closed), then the frames in the order they were traced.
  const rows: LadderRow[] = [];
  const frameRows: LadderRow[] = [];
  const legIds = new Set(shape.legs.map((l) => l.id));
  for (const leg of shape.legs) {
    const d = details[leg.id];
    const start = openedAt[leg.id] ?? 0;
    const request = headRow(shape, leg.id, leg.role, d?.requestHead, start, '');
    // The 101 comes after the request; the handshake event (when traced) has its time.
    const agreed = d?.handshake?.ok && d.handshake.extensions?.agreed ? `, ${d.handshake.extensions.agreed.name}` : '';
    const response = headRow(shape, leg.id, leg.role, d?.responseHead, d?.handshake?.time ?? start, agreed);
    if (request) rows.push(request);
    if (response) rows.push({ ...response, time: Math.max(response.time, start) });
    const closed = d?.closed;
    if (closed) {
      // Drawn across the leg, with no head: TCP ends for both of its ends.
      const side = arrowLanes(shape, leg.role, 'in');
      rows.push({ key: `${leg.id}:closed`, time: closed.time, from: side.from, to: side.to, label: `TCP closed: ${closed.code}${closed.wasClean ? ' (clean)' : ' (not clean)'}`, kind: 'closed' });
    }
  }
  for (const f of frames) {
    if (!legIds.has(f.connectionId)) continue;
    const leg = shape.legs.find((l) => l.id === f.connectionId)!;
    const close = f.close;
    const relay = f.relay;
    frameRows.push({
      key: f.key, time: f.time, ...arrowLanes(shape, leg.role, f.direction), kind: frameKind(f.opcode),
      label: (f.compressed ? 'deflated ' : '') + frameLabel({ opcode: f.opcode, fin: f.fin, payloadLength: f.payloadLength, ...(close ? { closeCode: close.code, closeReason: close.reason } : {}), ...(f.opcode === Opcode.Text ? { preview: f.preview } : {}) }),
      frame: { connectionId: f.connectionId, key: f.key },
      ...(relay ? { delayUs: relay.delayUs } : {}),
    });
  }
  return mergeByTime(rows.sort((a, b) => a.time - b.time), frameRows);
}

/**
 * The two lists merged by time: the frames come in trace order already, so a conversation of
 * 100,000 frames is not sorted again on every batch, only the few other rows are.
 */
function mergeByTime(few: LadderRow[], many: LadderRow[]): LadderRow[] {
  if (few.length === 0) return many;
  const out: LadderRow[] = [];
  let i = 0;
  for (const row of many) {
    while (i < few.length && few[i]!.time <= row.time) out.push(few[i++]!);
    out.push(row);
  }
  while (i < few.length) out.push(few[i++]!);
  return out;
}

/** The tooltip: the RFC's words on the closing handshake where they apply, and what a click does. */
function rowTitle(row: LadderRow): string | undefined {
  if (row.kind === 'close') return `RFC 6455 §5.5.1: "${closingQuotes.close}"\nClick to open this frame.`;
  if (row.kind === 'closed') return `RFC 6455 §5.5.1: "${closingQuotes.tcp}"`;
  return row.frame ? 'Open this frame' : undefined;
}

function Arrow({ shape, row, start, onOpen }: { shape: ConversationShape; row: LadderRow; start: number; onOpen: (row: LadderRow) => void }) {
  const x1 = lanePosition(shape, row.from);
  const x2 = lanePosition(shape, row.to);
  const self = x1 === x2;
  const mid = self ? x1 : (x1 + x2) / 2;
  return (
    <div className={`ladder-row ladder-${row.kind}${row.frame ? ' clickable' : ''}`} onClick={() => onOpen(row)} data-testid="ladder-row" title={rowTitle(row)}>
      <span className="ladder-time">{formatOffset(row.time - start)}</span>
      <div className="ladder-track">
        <svg className="ladder-svg" aria-hidden="true">
          {shape.lanes.map((lane) => <line key={lane} x1={`${lanePosition(shape, lane)}%`} x2={`${lanePosition(shape, lane)}%`} y1="0" y2="100%" className="ladder-lane-line" />)}
          {self ? (
            <circle cx={`${x1}%`} cy="60%" r="4" className="ladder-dot" />
          ) : (
            <>
              <line x1={`${x1}%`} x2={`${x2}%`} y1="60%" y2="60%" className="ladder-arrow" {...(row.kind === 'closed' ? {} : { markerEnd: `url(#ladder-head-${row.kind})` })} />
            </>
          )}
        </svg>
        <span className="ladder-label" style={{ left: `${mid}%` }}>
          {row.label}
          {row.delayUs !== undefined && <span className="ladder-delay" title="How long the proxy held it: from the original's arrival to this copy being sent"> · +{formatDelay(row.delayUs)}</span>}
        </span>
      </div>
    </div>
  );
}

/**
 * The ladder (sequence) diagram of the selected connection's conversation: client, the inspector
 * (when it proxies) and server as lanes; the opening handshake, every frame and the closing
 * handshake as arrows with their times. Click an arrow to open its frame.
 */
export function Ladder() {
  const id = useInspector((s) => s.selectedConnectionId);
  const connections = useInspector((s) => s.status?.connections);
  const frames = useInspector((s) => s.frames);
  const frameVersion = useInspector((s) => s.frameVersion);
  const details = useInspector((s) => s.details);
  const openFrame = useOpenFrame();
  const [shownTail, setShownTail] = useState(0);

  const shape = useMemo(() => (id && connections ? conversationOf(connections, id) : null), [id, connections]);
  const rows = useMemo(() => {
    if (!shape || !connections) return [];
    const openedAt: Record<string, number> = {};
    for (const c of connections) openedAt[c.id] = c.openedAt;
    return ladderRows(shape, frames, details, openedAt);
    // frameVersion: the ring changes in place
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, frames, frameVersion, details, connections]);

  if (!shape) return <p className="hint pad">This connection is not in the live list (a recording has no ladder yet).</p>;
  const start = rows[0]?.time ?? 0;
  const folded = rows.length > HEAD_ROWS + TAIL_ROWS + shownTail;
  const head = folded ? rows.slice(0, HEAD_ROWS + shownTail) : rows;
  const tail = folded ? rows.slice(rows.length - TAIL_ROWS) : [];
  const hidden = rows.length - head.length - tail.length;
  const open = (row: LadderRow) => {
    if (row.frame) openFrame(row.frame.connectionId, row.frame.key);
  };

  return (
    <div className="ladder" data-testid="ladder">
      <svg width="0" height="0" className="ladder-defs" aria-hidden="true">
        <defs>
          {(['handshake', 'data', 'ping', 'close'] as const).map((kind) => (
            <marker key={kind} id={`ladder-head-${kind}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" className={`ladder-head ladder-head-${kind}`} />
            </marker>
          ))}
        </defs>
      </svg>
      <p className="hint">
        {shape.proxied
          ? 'Each leg is its own WebSocket connection: the proxy answers the client\'s handshake only once the server has answered its own, copies each message to the other leg (the grey figure is the delay it added), and runs a closing handshake on each leg (§7.1.2).'
          : 'One WebSocket connection: the opening handshake (§4), the frames, and the closing handshake: each side sends a Close and the server closes TCP first (§7.1.1).'}
        {' '}Click an arrow to open its frame.
      </p>
      <RfcExpectations shape={shape} />
      <div className="ladder-header">
        <span className="ladder-time">time</span>
        <div className="ladder-track">
          {shape.lanes.map((lane) => (
            <span key={lane} className="ladder-lane-name" style={{ left: `${lanePosition(shape, lane)}%` }} data-testid={`ladder-lane-${lane}`}>
              <strong>{laneTitle[lane]}</strong>
              <small>{shape.laneNames[lane]}</small>
            </span>
          ))}
        </div>
      </div>
      <div className="ladder-body">
        {rows.length === 0 && <p className="hint pad">Nothing on the wire yet.</p>}
        {head.map((row) => <Arrow key={row.key} shape={shape} row={row} start={start} onOpen={open} />)}
        {hidden > 0 && (
          <button className="ladder-fold" onClick={() => setShownTail((n) => n + UNFOLD_STEP)} data-testid="ladder-fold">
            … {hidden.toLocaleString()} more arrows folded: show {Math.min(UNFOLD_STEP, hidden)} more
          </button>
        )}
        {tail.map((row) => <Arrow key={row.key} shape={shape} row={row} start={start} onOpen={open} />)}
      </div>
    </div>
  );
}
