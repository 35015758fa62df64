/**
 * The app's Proxy mode (issue 12), as the renderer and the service see it: the request that
 * starts the reverse proxy, and its status. Both legs of each proxied conversation are ordinary
 * connections in the status list, tagged with the conversation they belong to (ProxyLeg).
 */

import type { TrustCommand } from '../core/tls-types.ts';
import type { ServerTlsStatus } from './inspector-api.ts';

export type ProxyKind = 'reverse' | 'forward';

export interface StartProxyRequest {
  /**
   * reverse (default): clients connect to `listen` and are relayed to `target`. forward: an HTTP
   * proxy on `listen` (http://HOST:PORT) for browsers and tools configured to use one; ws:// through
   * it is inspected; CONNECT tunnels pass through opaquely, or with interceptTls are opened with
   * the local CA's certificates so wss:// inside is inspected too.
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
  /** wss:// target (reverse), or the origins behind intercepted tunnels (forward): do not insist on a verified certificate. */
  insecure?: boolean;
  /**
   * Reverse proxy on a wss:// listen URL: the certificate and key files (PEM) to present; both or
   * neither (then the generated self-signed certificate for localhost, as wsinspect proxy --tls).
   */
  certPath?: string;
  keyPath?: string;
  /** Forward proxy: terminate CONNECT's TLS with certificates from the local CA (made if there is none). */
  interceptTls?: boolean;
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
  /** Reverse proxy listening on wss://: the certificate it presents and its file. */
  tls: ServerTlsStatus | null;
  /** Forward proxy: CONNECT's TLS is intercepted with the local CA. */
  interceptTls: boolean;
  /** Forward proxy: the latest CONNECT tunnels (opaque ones with their SNI, intercepted ones), newest last, bounded. */
  tunnels: ProxyTunnel[];
  /** The local certificate authority for TLS interception (null: there is none). */
  ca: ProxyCaStatus | null;
}

/** One CONNECT tunnel through the forward proxy. */
export interface ProxyTunnel {
  id: string;
  /** host:port asked for in CONNECT. */
  target: string;
  /** The TLS server name the client sent (SNI), null: none or not TLS. */
  sni: string | null;
  /** opaque: bytes passed through unread; intercepted: TLS terminated with the local CA's certificate. */
  mode: 'opaque' | 'intercepted';
  state: 'open' | 'closed';
  /** Opaque tunnels once closed: bytes client → origin and back. */
  bytesUp?: number;
  bytesDown?: number;
  /** What went wrong (not TLS, the client refused the certificate, the origin unreachable…). */
  error?: string;
}

/** Regenerate replaces the CA (clients that trusted the old one must trust the new one); remove deletes its key. */
export type ProxyCaAction = 'create' | 'regenerate' | 'remove';

/** The local CA: what it is, where its files are, and how to trust it (and undo that). */
export interface ProxyCaStatus {
  certPath: string;
  keyPath: string;
  /** The CA cannot be used (damaged, expired): why, and that removing it is the way out. */
  error?: string;
  subject?: string;
  validFrom?: string;
  validTo?: string;
  /** SHA-256 of the certificate (what trust dialogs show). */
  sha256?: string;
  /** base64 SHA-256 of its public key (Chromium's --ignore-certificate-errors-spki-list). */
  spkiSha256?: string;
  trust: TrustCommand[];
  untrust: string[];
  risk: string[];
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
  tls: null, interceptTls: false, tunnels: [], ca: null,
};
