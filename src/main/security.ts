/**
 * Electron's security checklist, applied to every session and every webContents the app ever
 * creates (not only the main window): no permissions, no new windows, no navigation away from
 * the app, no <webview>, and the user's browser only for allow-listed links. The decisions are
 * the pure functions of trust.ts; this file only wires them to Electron.
 */
import { app, shell, type Session } from 'electron';
import { allowedExternalUrl, isTrustedSenderUrl } from './trust.ts';

const hardened = new WeakSet<Session>();

/** The app needs no permission: every request and every check is refused. */
export function denyAllPermissions(session: Session): void {
  if (hardened.has(session)) return;
  hardened.add(session);
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

/** Opens `url` in the user's browser when it is on the allow-list; does nothing otherwise. */
export function openExternalIfAllowed(url: string): void {
  const allowed = allowedExternalUrl(url);
  if (allowed !== null) void shell.openExternal(allowed);
}

/** Registers the guard; call before the first window exists. */
export function guardWebContents(rendererUrl: string): void {
  app.on('web-contents-created', (_event, contents) => {
    denyAllPermissions(contents.session);
    // No new windows (window.open, target=_blank, middle-click): an allow-listed link goes to the browser.
    contents.setWindowOpenHandler(({ url }) => {
      openExternalIfAllowed(url);
      return { action: 'deny' };
    });
    // No navigation away from the app, in any frame, by link, script or server redirect.
    contents.on('will-navigate', (event) => {
      if (isTrustedSenderUrl(event.url, rendererUrl)) return;
      event.preventDefault();
      openExternalIfAllowed(event.url);
    });
    contents.on('will-frame-navigate', (event) => {
      if (!isTrustedSenderUrl(event.url, rendererUrl)) event.preventDefault();
    });
    contents.on('will-redirect', (event) => {
      if (!isTrustedSenderUrl(event.url, rendererUrl)) event.preventDefault();
    });
    // No <webview> (the renderer has none; webviewTag is off): strip what it would get, then refuse.
    contents.on('will-attach-webview', (event, webPreferences) => {
      delete webPreferences.preload;
      webPreferences.nodeIntegration = false;
      webPreferences.contextIsolation = true;
      webPreferences.sandbox = true;
      event.preventDefault();
    });
  });
}
