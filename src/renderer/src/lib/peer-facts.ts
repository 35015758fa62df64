/**
 * What the sidebar and the Handshake tab say about a peer, from its traced handshake: the
 * request path, user agent, subprotocol, extensions, when it opened and how long it lasted.
 */
import { headerValue, splitList } from '../../../core/http.ts';
import type { TracedHead } from '../../../core/trace.ts';
import type { ConnectionDetail } from '../store/store.ts';

export interface PeerFacts {
  /** The request target (path and query), e.g. "/chat?room=1". */
  path: string | null;
  userAgent: string | null;
  /** The subprotocols the client offered (Sec-WebSocket-Protocol in the request). */
  offeredSubprotocols: string[];
  /** The one agreed (the response's Sec-WebSocket-Protocol), null: none. */
  subprotocol: string | null;
  /** The agreed extensions as the response states them, null: none. */
  extensions: string | null;
  openedAt: number;
  /** Null while the connection is open. */
  closedAt: number | null;
}

/** The request line's target: "GET /chat?room=1 HTTP/1.1" → "/chat?room=1". */
export function requestTarget(head: TracedHead | undefined): string | null {
  if (!head || head.kind !== 'request') return null;
  const parts = head.startLine.split(' ');
  return parts.length >= 2 ? parts[1]! : null;
}

export function peerFacts(detail: ConnectionDetail | undefined, openedAt: number): PeerFacts {
  const request = detail?.requestHead;
  const response = detail?.responseHead;
  return {
    path: requestTarget(request),
    userAgent: (request && headerValue(request, 'User-Agent')) ?? null,
    offeredSubprotocols: request ? splitList(headerValue(request, 'Sec-WebSocket-Protocol')) : [],
    subprotocol: detail?.handshake?.subprotocol ?? null,
    extensions: (response && headerValue(response, 'Sec-WebSocket-Extensions')) ?? null,
    openedAt,
    closedAt: detail?.closed?.time ?? null,
  };
}

/**
 * A short name for a user agent: the browser and its major version ("Chrome 131", "Firefox 128"),
 * else the first product token ("python-websockets/13.0" → "python-websockets 13.0").
 */
export function shortUserAgent(ua: string): string {
  for (const [pattern, name] of [[/Edg\/(\d+)/, 'Edge'], [/Firefox\/(\d+)/, 'Firefox'], [/HeadlessChrome\/(\d+)/, 'HeadlessChrome'], [/Chrome\/(\d+)/, 'Chrome'], [/Version\/(\d+)[^ ]* Safari\//, 'Safari']] as const) {
    const m = pattern.exec(ua);
    if (m) return `${name} ${m[1]}`;
  }
  const first = ua.trim().split(/\s+/)[0] ?? '';
  return first.replace('/', ' ').slice(0, 40);
}

/** A duration in the largest unit that reads well: "850 ms", "12.4 s", "3 min 5 s", "2 h 10 min". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** One formatter for every row: toLocaleTimeString with options builds a new one per call (about a millisecond). */
const timeOfDay = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** The time of day a connection opened, "18:02:11". */
export function clockTime(time: number): string {
  return timeOfDay.format(new Date(time));
}

/**
 * The client offered subprotocols and the handshake agreed none. RFC 6455 lets a server answer
 * so (§4.2.2: /subprotocol/ may be null), but browsers follow the WHATWG WebSocket standard,
 * which fails such a connection; Chromium then reports close code 1006. Returns what was offered.
 */
export function unansweredSubprotocols(facts: PeerFacts, handshakeOk: boolean): string[] | null {
  return handshakeOk && facts.offeredSubprotocols.length > 0 && facts.subprotocol === null ? facts.offeredSubprotocols : null;
}

/** Whether the request looks like it comes from a web browser (its User-Agent says Mozilla/). */
export function isBrowserRequest(facts: PeerFacts): boolean {
  return facts.userAgent?.startsWith('Mozilla/') ?? false;
}
