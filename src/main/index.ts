/**
 * Electron main process: the window, the IPC glue and the inspector service. No protocol
 * logic lives here; it is all in the service, which the web host runs too.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, shell } from 'electron';
import { registerIpc } from './ipc.ts';
import { InspectorService } from '../service/inspector-service.ts';
import { serviceOptionsFromEnv } from '../service/service-env.ts';

const service = new InspectorService(serviceOptionsFromEnv(process.env));
let mainWindow: BrowserWindow | null = null;

const rendererFile = join(__dirname, '../renderer/index.html');
const rendererUrl = process.env['ELECTRON_RENDERER_URL'] ?? pathToFileURL(rendererFile).toString();

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
  // No new windows, no navigation away from the app (Electron security guide).
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.on('closed', () => {
    mainWindow = null;
  });
  if (process.env['ELECTRON_RENDERER_URL']) void window.loadURL(process.env['ELECTRON_RENDERER_URL']);
  else void window.loadFile(rendererFile);
}

void app.whenReady().then(async () => {
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
