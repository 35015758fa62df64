/**
 * A conversation as the ladder diagram and the frame pairing see it (issue 12): a direct
 * connection (two lanes: client and server, one of them this app) or a proxied one (three lanes:
 * client, the inspector as proxy, server), its legs, and each frame as an arrow between lanes.
 * Pure functions over what the store holds; no React.
 */
import { Opcode } from '../../../core/constants.ts';
import type { Direction, TracedHead, TracedRelay } from '../../../core/trace.ts';
import type { ConnectionSummary } from '../../../shared/inspector-api.ts';
import { UPSTREAM_LEG_SUFFIX } from '../../../shared/proxy-api.ts';

export type Lane = 'client' | 'proxy' | 'server';

export interface ConversationShape {
  /** Lanes left to right. */
  lanes: Lane[];
  /** What each lane is ("this app", "127.0.0.1:53422", the URL). */
  laneNames: Partial<Record<Lane, string>>;
  /** The connection ids of its legs: one for a direct connection, the client leg then the upstream leg for a proxy. */
  legs: Array<{ id: string; role: ConnectionSummary['role'] }>;
  proxied: boolean;
}

/** The conversation a connection belongs to (a proxy leg brings its partner leg along). */
export function conversationOf(connections: readonly Pick<ConnectionSummary, 'id' | 'role' | 'remote' | 'url' | 'proxyLeg'>[], id: string): ConversationShape | null {
  const conn = connections.find((c) => c.id === id);
  if (!conn) return null;
  if (conn.proxyLeg) {
    const clientId = conn.proxyLeg.conversationId;
    const client = connections.find((c) => c.id === clientId);
    const upstream = connections.find((c) => c.id === `${clientId}${UPSTREAM_LEG_SUFFIX}`);
    return {
      lanes: ['client', 'proxy', 'server'],
      laneNames: { client: client ? `client ${client.remote}` : 'client', proxy: 'this app, as proxy', server: upstream?.url ?? 'server' },
      legs: [{ id: clientId, role: 'server' }, ...(upstream ? [{ id: upstream.id, role: 'client' as const }] : [])],
      proxied: true,
    };
  }
  return {
    lanes: ['client', 'server'],
    laneNames: conn.role === 'client' ? { client: 'this app', server: conn.url ?? 'server' } : { client: `client ${conn.remote}`, server: 'this app' },
    legs: [{ id: conn.id, role: conn.role }],
    proxied: false,
  };
}

/**
 * Which lanes a leg's traffic runs between. A leg whose role is 'server' is our server side: what
 * comes in comes from the client. Direct: the other end is the app itself; proxied: the proxy lane.
 */
export function arrowLanes(shape: ConversationShape, legRole: ConnectionSummary['role'], direction: Direction): { from: Lane; to: Lane } {
  const app: Lane = shape.proxied ? 'proxy' : legRole === 'server' ? 'server' : 'client';
  const peer: Lane = legRole === 'server' ? 'client' : 'server';
  return direction === 'in' ? { from: peer, to: app } : { from: app, to: peer };
}

/** The words on a frame's arrow: its opcode, and what a reader needs at a glance. */
export function frameLabel(f: { opcode: number; fin: boolean; payloadLength: number; closeCode?: number | null; closeReason?: string; preview?: string }): string {
  const more = f.fin ? '' : ' (FIN=0)';
  switch (f.opcode) {
    case Opcode.Text: return `Text ${f.payloadLength} B${more}${f.preview ? ` "${clip(f.preview, 24)}"` : ''}`;
    case Opcode.Binary: return `Binary ${f.payloadLength} B${more}`;
    case Opcode.Continuation: return `Continuation ${f.payloadLength} B${more}`;
    case Opcode.Close: return f.closeCode === undefined || f.closeCode === null ? 'Close (no code)' : `Close ${f.closeCode}${f.closeReason ? ` "${clip(f.closeReason, 20)}"` : ''}`;
    case Opcode.Ping: return `Ping ${f.payloadLength} B`;
    case Opcode.Pong: return `Pong ${f.payloadLength} B`;
    default: return `opcode 0x${f.opcode.toString(16)} (reserved)`;
  }
}

/** The words on a handshake arrow. */
export function headLabel(head: TracedHead): string {
  // "GET /chat HTTP/1.1" / "HTTP/1.1 101 Switching Protocols"
  const line = head.startLine;
  return head.kind === 'request' ? clip(line.replace(/\s+HTTP\/\S+$/, ''), 36) : clip(line.replace(/^HTTP\/\S+\s+/, ''), 36);
}

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** "+1.234 s", "+12.3 ms", "+850 µs": a time since the conversation began. */
export function formatOffset(ms: number): string {
  if (ms >= 1000) return `+${(ms / 1000).toFixed(3)} s`;
  if (ms >= 1) return `+${ms.toFixed(1)} ms`;
  return `+${Math.round(ms * 1000)} µs`;
}

/** The proxy's added delay in words. */
export function formatDelay(delayUs: number): string {
  return delayUs >= 1000 ? `${(delayUs / 1000).toFixed(2)} ms` : `${delayUs} µs`;
}

/** A frame with what pairing needs: where it is and, for a copy, its original. */
export interface PairableFrame {
  connectionId: string;
  frameId: number;
  relay?: TracedRelay | undefined;
}

/**
 * The frame's counterpart on the other leg: for a copy, its original; for an original, the copy
 * that names it (searched newest first among `frames`).
 */
export function counterpartOf(frame: PairableFrame, frames: readonly PairableFrame[]): { connectionId: string; frameId: number; delayUs: number; isCopy: boolean } | null {
  if (frame.relay) return { ...frame.relay.from, delayUs: frame.relay.delayUs, isCopy: true };
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i]!;
    const r = f.relay;
    if (r && r.from.frameId === frame.frameId && r.from.connectionId === frame.connectionId) return { connectionId: f.connectionId, frameId: f.frameId, delayUs: r.delayUs, isCopy: false };
  }
  return null;
}

/** Which side a leg's peer is, in words: "the client" / "the server". */
export function legPeer(conversationShape: ConversationShape, connectionId: string): 'the client' | 'the server' {
  const leg = conversationShape.legs.find((l) => l.id === connectionId);
  return leg?.role === 'client' ? 'the server' : 'the client';
}

/** The RFC's own words on the closing handshake, shown on the ladder's Close and TCP rows (RFC 6455 §5.5.1, verbatim). */
export const closingQuotes = {
  close: 'If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response.',
  tcp: 'The server MUST close the underlying TCP connection immediately; the client SHOULD wait for the server to close the connection but MAY close the connection at any time after sending and receiving a Close message',
} as const;
