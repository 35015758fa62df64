/**
 * Electron main process: the window, the IPC glue and the inspector service. No protocol
 * logic lives here; it is all in the service, which the web host runs too.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, session } from 'electron';
import { dialogConfirmer } from './confirm-dialog.ts';
import { registerIpc } from './ipc.ts';
import { denyAllPermissions, guardWebContents } from './security.ts';
import { devRendererUrl } from './trust.ts';
import { InspectorService } from '../service/inspector-service.ts';
import { installLastResort } from '../service/last-resort.ts';
import { serviceOptionsFromEnv } from '../service/service-env.ts';

let mainWindow: BrowserWindow | null = null;
/** A launch command or a non-loopback bind waits for a yes in a main-process dialog (confirm-dialog.ts). */
const confirm = dialogConfirmer((options) => (mainWindow && !mainWindow.isDestroyed() ? dialog.showMessageBox(mainWindow, options) : dialog.showMessageBox(options)));
const service = new InspectorService({ ...serviceOptionsFromEnv(process.env), confirm });

const rendererFile = join(__dirname, '../renderer/index.html');
/** electron-vite's dev server, only when unpackaged and on loopback (trust.ts); else our own file. */
const devUrl = devRendererUrl(process.env['ELECTRON_RENDERER_URL'], app.isPackaged);
const rendererUrl = devUrl ?? pathToFileURL(rendererFile).toString();
// Every webContents, this window's and any other: no permissions, windows, navigation or webviews.
guardWebContents(rendererUrl);

function createWindow(): void {
  const window = new BrowserWindow({
    width: 1440,
    height: 920,
    minWidth: 1000,
    minHeight: 640,
    show: false,
    title: 'WebSocket Inspector',
    backgroundColor: '#0f1419',
    webPreferences: {
      preload: join(__dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  mainWindow = window;
  window.once('ready-to-show', () => window.show());
  // New windows and navigation away from the app are refused by guardWebContents (security.ts).
  window.on('closed', () => {
    mainWindow = null;
  });
  if (devUrl) void window.loadURL(devUrl);
  else void window.loadFile(rendererFile);
}

void app.whenReady().then(async () => {
  denyAllPermissions(session.defaultSession);
  registerIpc(service, rendererUrl, () => mainWindow?.webContents ?? null);
  createWindow();
  // Start the embedded server on the default port; a port in use shows in the UI, not as a crash.
  await service.startServer();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('will-quit', () => {
  void service.dispose();
});

// The last resort (last-resort.ts): an error nobody caught is one line on stderr and an error in
// the window, and the app keeps running (a header with CR/LF used to end this process; issue 10 §2).
installLastResort(service, { label: 'main' });
