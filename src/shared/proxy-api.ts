/**
 * The app's Proxy mode (issue 12), as the renderer and the service see it: the request that
 * starts the reverse proxy, and its status. Both legs of each proxied conversation are ordinary
 * connections in the status list, tagged with the conversation they belong to (ProxyLeg).
 */

export interface StartProxyRequest {
  /** Where clients connect: ws://HOST:PORT/PATH (the client's path below PATH is appended to the target's). */
  listen: string;
  /** The upstream server: ws:// or wss://. */
  target: string;
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
  running: false, url: null, target: null, rewrite: null, clientDeflate: true, upstreamDeflate: true, conversations: 0, error: null, warning: null,
};
