/**
 * Who and what the main process trusts: pure functions of URLs and plain frame facts, with no
 * electron import, so they are unit-tested as they are (test/main/trust.test.ts). The Electron
 * glue (ipc.ts, security.ts) only feeds them what Electron reports.
 */

/** Upper-cases a Windows drive letter (`/c:/…` → `/C:/…`): Chromium and Node spell it differently. */
function filePath(url: URL): string {
  return url.pathname.replace(/^\/([a-z]):/, (_m, drive: string) => `/${drive.toUpperCase()}:`);
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * Is `senderUrl` a page of our renderer, loaded from `rendererUrl`?
 * - Dev server (http/https): the exact origin (scheme, host and port), never a prefix:
 *   `http://localhost:5173` does not admit `http://localhost:51730` or `http://localhost:5173.evil`.
 * - Packaged (file://): the exact file, query and fragment ignored; any other file is refused.
 * Anything else (data:, about:, javascript:, an unparsable URL) is refused.
 */
export function isTrustedSenderUrl(senderUrl: string, rendererUrl: string): boolean {
  const sender = parse(senderUrl);
  const renderer = parse(rendererUrl);
  if (!sender || !renderer || sender.protocol !== renderer.protocol) return false;
  if (renderer.protocol === 'http:' || renderer.protocol === 'https:') return sender.origin === renderer.origin;
  if (renderer.protocol === 'file:') return sender.host === renderer.host && filePath(sender) === filePath(renderer);
  return false;
}

/** What Electron tells about the frame an IPC message came from (a subset of WebFrameMain). */
export interface SenderFrameFacts {
  readonly url: string;
  /** null for a top-level frame. */
  readonly parent: unknown;
}

/**
 * Is this IPC message from the main frame of our own window, showing our renderer? Not from a
 * subframe (an iframe is not the app, whatever its URL), not from another webContents.
 */
export function isTrustedIpcSender(
  sender: { readonly frame: SenderFrameFacts | null | undefined; readonly webContentsId: number },
  expected: { readonly webContentsId: number | null; readonly rendererUrl: string },
): boolean {
  const { frame } = sender;
  if (!frame || frame.parent !== null) return false;
  if (expected.webContentsId === null || sender.webContentsId !== expected.webContentsId) return false;
  return isTrustedSenderUrl(frame.url, expected.rendererUrl);
}

/**
 * Places the app may open in the user's browser: the RFC and the IANA WebSocket registries,
 * which the app cites. https only, default port, no credentials, and the path under one of
 * these prefixes after URL normalisation (so `/assignments/websocket/../../x` is outside).
 */
export const EXTERNAL_URL_ALLOW_LIST: ReadonlyArray<{ readonly host: string; readonly pathPrefix: string }> = [
  { host: 'www.rfc-editor.org', pathPrefix: '/' },
  { host: 'datatracker.ietf.org', pathPrefix: '/doc/' },
  { host: 'www.iana.org', pathPrefix: '/assignments/websocket/' },
];

/** The normalised URL to hand to shell.openExternal, or null when it is not on the allow-list. */
export function allowedExternalUrl(url: string): string | null {
  const parsed = parse(url);
  if (!parsed || parsed.protocol !== 'https:' || parsed.username !== '' || parsed.password !== '' || parsed.port !== '') return null;
  const allowed = EXTERNAL_URL_ALLOW_LIST.some(({ host, pathPrefix }) => parsed.hostname === host && parsed.pathname.startsWith(pathPrefix));
  return allowed ? parsed.href : null;
}

export function isAllowedExternalUrl(url: string): boolean {
  return allowedExternalUrl(url) !== null;
}

/**
 * The dev server URL that electron-vite passes in ELECTRON_RENDERER_URL: honoured only by an
 * unpackaged app and only for http(s) on loopback, since the page it names is trusted with the
 * IPC API. Anything else: null, and the app loads its own file.
 */
export function devRendererUrl(value: string | undefined, isPackaged: boolean): string | null {
  if (isPackaged || !value) return null;
  const url = parse(value);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return null;
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(url.hostname);
  return loopback ? url.href : null;
}
