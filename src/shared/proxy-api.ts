/**
 * The app's Proxy mode (issue 12), as the renderer and the service see it: the request that
 * starts the reverse proxy, and its status. Both legs of each proxied conversation are ordinary
 * connections in the status list, tagged with the conversation they belong to (ProxyLeg).
 */

export type ProxyKind = 'reverse' | 'forward';

export interface StartProxyRequest {
  /**
   * reverse (default): clients connect to `listen` and are relayed to `target`. forward: an HTTP
   * proxy on `listen` (http://HOST:PORT) for browsers and tools configured to use one; ws:// through
   * it is inspected, CONNECT tunnels pass through opaquely (TLS interception is in the CLI).
   */
  kind?: ProxyKind;
  /** Where clients connect: ws://HOST:PORT/PATH (the client's path below PATH is appended to the target's); forward: http://HOST:PORT. */
  listen: string;
  /** The upstream server: ws:// or wss:// (reverse proxy only). */
  target?: string;
  /** Host header sent upstream; empty or omitted: the target's host[:port]. */
  host?: string;
  /** Origin sent upstream: omitted keeps the client's, a string replaces it, null removes it. */
  origin?: string | null;
  /** permessage-deflate (RFC 7692) on the client leg (our server) and on the upstream leg (our client); default on. */
  clientDeflate?: boolean;
  upstreamDeflate?: boolean;
  /** wss:// target: do not insist on a verified certificate. */
  insecure?: boolean;
  /** The token of a confirmation prompt the person accepted (listening on a non-loopback address). */
  confirmToken?: string;
}

export interface ProxyStatus {
  running: boolean;
  kind: ProxyKind;
  /** Where clients connect, while running. */
  url: string | null;
  target: string | null;
  /** What the handshake forwarding changes, in words ("Host → example.com; Origin kept"). */
  rewrite: string | null;
  clientDeflate: boolean;
  upstreamDeflate: boolean;
  /** Conversations relaying now. */
  conversations: number;
  /** Why the last start failed. */
  error: string | null;
  /** Shown while listening where other machines can connect. */
  warning: string | null;
  /** Forward proxy: the latest non-WebSocket requests and tunnels, one line each (newest last, bounded). */
  recent: string[];
}

/** On a connection that is one leg of a proxied conversation. */
export interface ProxyLeg {
  /** The conversation's id: its client leg's connection id. */
  conversationId: string;
  /** client: the client's connection to the proxy; upstream: the proxy's connection to the server. */
  side: 'client' | 'upstream';
}

/** The upstream leg of a conversation has the client leg's id with this after it (ProxyConversation). */
export const UPSTREAM_LEG_SUFFIX = '-upstream';

export const idleProxyStatus: ProxyStatus = {
  running: false, kind: 'reverse', recent: [], url: null, target: null, rewrite: null, clientDeflate: true, upstreamDeflate: true, conversations: 0, error: null, warning: null,
};
