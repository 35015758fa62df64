/**
 * The one typed interface between the renderer and the inspector service. Electron's preload
 * implements it over IPC (one channel per function); the web host's bridge implements it over
 * HTTP and server-sent events. The renderer cannot tell which one it talks to.
 */

import type { ConnectionState, Role, TraceEvent } from '../core/trace.ts';

export type AppName = 'echo' | 'chat' | 'manual';
export const appNames: readonly AppName[] = ['echo', 'chat', 'manual'];

export interface ServerStatus {
  running: boolean;
  host: string;
  port: number;
  url: string | null;
  app: AppName;
  /** Why the last start failed, in plain words (e.g. the port is in use). */
  error: string | null;
  /** Shown while bound to an address other machines can reach. */
  warning: string | null;
}

export interface ConnectionSummary {
  id: string;
  role: Role;
  /** Peer address, "127.0.0.1:53422". */
  remote: string;
  /** Client connections: the URL asked for. */
  url?: string;
  state: ConnectionState;
  subprotocol: string | null;
  /** Why it failed or closed, if it did. */
  detail?: string;
  openedAt: number;
}

export interface InspectorStatus {
  server: ServerStatus;
  connections: ConnectionSummary[];
}

export type Result<T = object> = ({ ok: true } & T) | { ok: false; error: string };

export interface StartServerRequest {
  host?: string;
  port?: number;
  app?: AppName;
}

export interface ConnectClientRequest {
  url: string;
  subprotocols?: string[];
  /** Extra handshake headers as "Name: value" lines. */
  headers?: string[];
}

export type SendRequest =
  | { connectionId: string; kind: 'text'; text: string; fragments?: number[] }
  | { connectionId: string; kind: 'binary'; hex: string; fragments?: number[] }
  | { connectionId: string; kind: 'ping' | 'pong'; text?: string }
  | { connectionId: string; kind: 'close'; code?: number | null; reason?: string };

/** What the service pushes: trace events in batches, and status when it changes. */
export interface ServiceBatch {
  events: TraceEvent[];
  status?: InspectorStatus;
}

export interface InspectorApi {
  getStatus(): Promise<InspectorStatus>;
  startServer(request: StartServerRequest): Promise<Result<{ url: string }>>;
  stopServer(): Promise<Result>;
  setServerApp(app: AppName): Promise<Result>;
  connectClient(request: ConnectClientRequest): Promise<Result<{ id: string }>>;
  send(request: SendRequest): Promise<Result>;
  /** Drop TCP without a closing handshake. */
  dropConnection(connectionId: string): Promise<Result>;
  /** Subscribe to pushed batches; returns the unsubscribe function. */
  onBatch(listener: (batch: ServiceBatch) => void): () => void;
}

/** The IPC channel names, one per function (Electron's security guide). */
export const channels = {
  getStatus: 'inspector:get-status',
  startServer: 'inspector:start-server',
  stopServer: 'inspector:stop-server',
  setServerApp: 'inspector:set-server-app',
  connectClient: 'inspector:connect-client',
  send: 'inspector:send',
  dropConnection: 'inspector:drop-connection',
  batch: 'inspector:batch',
} as const;
