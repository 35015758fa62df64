/**
 * The real main process (src/main/index.ts with ipc.ts, security.ts, trust.ts and the real
 * inspector service) run against a stand-in for the `electron` module, since Electron's binary
 * cannot run here. It checks behaviour, not text: what the permission handlers answer, what the
 * web-contents guard does with navigations, new windows and webviews, which IPC senders reach
 * the service, and that a dangerous request waits for the main-process dialog's yes.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeBatch } from '../../src/shared/trace-batch.ts';

type Handler = (...args: unknown[]) => unknown;

/** What the stand-in records; the test reads it through `import('electron')`. */
interface FakeSession {
  request?: (contents: unknown, permission: string, callback: (granted: boolean) => void, details: unknown) => void;
  check?: (...args: unknown[]) => boolean;
  device?: (...args: unknown[]) => boolean;
  setPermissionRequestHandler(fn: FakeSession['request']): void;
  setPermissionCheckHandler(fn: FakeSession['check']): void;
  setDevicePermissionHandler(fn: FakeSession['device']): void;
}

vi.mock('electron', async () => {
  const { EventEmitter: Emitter } = await import('node:events');
  const makeSession = (): FakeSession => ({
    setPermissionRequestHandler(fn) { this.request = fn; },
    setPermissionCheckHandler(fn) { this.check = fn; },
    setDevicePermissionHandler(fn) { this.device = fn; },
  });
  const defaultSession = makeSession();
  let nextId = 1;
  let signalReady!: () => void;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  const app = Object.assign(new Emitter(), { isPackaged: false, whenReady: () => ready, quit: vi.fn(), signalReady });

  class FakeWebContents extends Emitter {
    readonly id = nextId++;
    windowOpenHandler: ((details: { url: string }) => unknown) | null = null;
    readonly mainFrame = { url: '', parent: null };
    readonly send = vi.fn();
    constructor(readonly session: FakeSession = defaultSession) {
      super();
    }
    setWindowOpenHandler(fn: (details: { url: string }) => unknown): void { this.windowOpenHandler = fn; }
    isDestroyed(): boolean { return false; }
  }

  class BrowserWindow extends Emitter {
    static readonly all: BrowserWindow[] = [];
    static getAllWindows(): BrowserWindow[] { return BrowserWindow.all; }
    readonly webContents = new FakeWebContents();
    readonly loadURL = vi.fn(async (url: string) => void (this.webContents.mainFrame.url = url));
    readonly loadFile = vi.fn(async (path: string) => void (this.webContents.mainFrame.url = (await import('node:url')).pathToFileURL(path).href));
    constructor(readonly options: { webPreferences?: Record<string, unknown> }) {
      super();
      BrowserWindow.all.push(this);
      app.emit('web-contents-created', {}, this.webContents); // as Electron does
    }
    isDestroyed(): boolean { return false; }
    show(): void {}
  }

  const ipcHandlers = new Map<string, Handler>();
  const ipcMain = {
    handlers: ipcHandlers,
    handle: (channel: string, fn: Handler) => void ipcHandlers.set(channel, fn),
    removeHandler: (channel: string) => void ipcHandlers.delete(channel),
  };
  const dialog = { answer: 0, showMessageBox: vi.fn(async (..._args: unknown[]) => ({ response: dialog.answer })) };
  const shell = { openExternal: vi.fn(async (_url: string) => {}) };
  const session = { defaultSession, makeSession };
  const fake = { app, BrowserWindow, FakeWebContents, ipcMain, dialog, shell, session };
  return { ...fake, default: fake };
});

// The embedded server the app starts at launch listens on a free port, not on 9001.
vi.mock('../../src/service/service-env.ts', () => ({ serviceOptionsFromEnv: () => ({ port: 0 }) }));

type Fake = {
  app: EventEmitter & { signalReady(): void };
  BrowserWindow: { all: Array<EventEmitter & { options: { webPreferences?: Record<string, unknown> }; webContents: FakeContents; loadURL: ReturnType<typeof vi.fn>; loadFile: ReturnType<typeof vi.fn> }> };
  FakeWebContents: new (session?: FakeSession) => FakeContents;
  ipcMain: { handlers: Map<string, Handler> };
  dialog: { answer: number; showMessageBox: ReturnType<typeof vi.fn> };
  shell: { openExternal: ReturnType<typeof vi.fn> };
  session: { defaultSession: FakeSession; makeSession(): FakeSession };
};
type FakeContents = EventEmitter & { id: number; session: FakeSession; mainFrame: { url: string; parent: null }; windowOpenHandler: ((d: { url: string }) => unknown) | null };

let electron: Fake;
let listenersBeforeReady = 0;

beforeAll(async () => {
  delete process.env['ELECTRON_RENDERER_URL'];
  electron = (await import('electron')) as unknown as Fake;
  await import('../../src/main/index.ts');
  listenersBeforeReady = electron.app.listenerCount('web-contents-created');
  electron.app.signalReady();
  await vi.waitFor(() => expect(electron.BrowserWindow.all).toHaveLength(1));
});

afterAll(async () => {
  // will-quit disposes the service (and its server).
  electron.app.emit('will-quit');
  await new Promise((resolve) => setTimeout(resolve, 50));
});

const win = () => electron.BrowserWindow.all[0]!;
const navigation = (url: string) => ({ url, preventDefault: vi.fn() });

describe('permissions', () => {
  it('are all refused, by request and by check, on the default session', () => {
    const { defaultSession } = electron.session;
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'clipboard-sanitized-write', 'fullscreen', 'hid', 'unknown']) {
      const callback = vi.fn();
      defaultSession.request!(win().webContents, permission, callback, {});
      expect(callback, permission).toHaveBeenCalledExactlyOnceWith(false);
      expect(defaultSession.check!(win().webContents, permission, 'file://', {}), permission).toBe(false);
    }
    expect(defaultSession.device!({ deviceType: 'usb', origin: 'file://' })).toBe(false);
  });

  it('are refused on any other session a webContents brings', () => {
    const other = electron.session.makeSession();
    electron.app.emit('web-contents-created', {}, new electron.FakeWebContents(other));
    const callback = vi.fn();
    other.request!(null, 'media', callback, {});
    expect(callback).toHaveBeenCalledExactlyOnceWith(false);
    expect(other.check!(null, 'media', '', {})).toBe(false);
  });
});

describe('the window', () => {
  it('is guarded from the start: the web-contents-created guard exists before the app is ready', () => {
    expect(listenersBeforeReady).toBe(1);
    expect(win().webContents.windowOpenHandler).toBeTypeOf('function');
  });

  it('loads our own file with isolation, the sandbox and no node integration', () => {
    expect(win().loadURL).not.toHaveBeenCalled();
    expect(win().loadFile).toHaveBeenCalledOnce();
    expect(String(win().loadFile.mock.calls[0]![0])).toMatch(/renderer[\\/]index\.html$/);
    expect(win().options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
  });
});

describe('the web-contents guard', () => {
  const contents = () => win().webContents;

  it('denies every new window and opens only allow-listed links in the browser', () => {
    electron.shell.openExternal.mockClear();
    for (const url of ['https://evil.example/', 'file:///etc/passwd', 'javascript:alert(1)', 'http://www.rfc-editor.org/rfc/rfc6455', 'https://www.rfc-editor.org.evil.example/']) {
      expect(contents().windowOpenHandler!({ url }), url).toEqual({ action: 'deny' });
    }
    expect(electron.shell.openExternal).not.toHaveBeenCalled();
    expect(contents().windowOpenHandler!({ url: 'https://www.rfc-editor.org/rfc/rfc6455#section-5.2' })).toEqual({ action: 'deny' });
    expect(electron.shell.openExternal).toHaveBeenCalledExactlyOnceWith('https://www.rfc-editor.org/rfc/rfc6455#section-5.2');
  });

  it('stops navigation away from the app, and lets the app reload itself', () => {
    electron.shell.openExternal.mockClear();
    const appUrl = contents().mainFrame.url;
    expect(appUrl).toMatch(/^file:\/\/.*\/renderer\/index\.html$/);
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect']) {
      for (const url of ['https://evil.example/', appUrl.replace('index.html', 'other.html'), 'file:///etc/passwd', 'data:text/html,x']) {
        const nav = navigation(url);
        contents().emit(event, nav);
        expect(nav.preventDefault, `${event} ${url}`).toHaveBeenCalled();
      }
      const own = navigation(`${appUrl}#/frames`);
      contents().emit(event, own);
      expect(own.preventDefault, event).not.toHaveBeenCalled();
    }
    expect(electron.shell.openExternal).not.toHaveBeenCalled();
  });

  it('sends an allow-listed link followed in the page to the browser instead, once', () => {
    electron.shell.openExternal.mockClear();
    const rfc = 'https://datatracker.ietf.org/doc/html/rfc6455';
    const nav = navigation(rfc);
    contents().emit('will-navigate', nav);
    const frameNav = navigation(rfc);
    contents().emit('will-frame-navigate', frameNav);
    expect(nav.preventDefault).toHaveBeenCalled();
    expect(frameNav.preventDefault).toHaveBeenCalled();
    expect(electron.shell.openExternal).toHaveBeenCalledExactlyOnceWith(rfc);
  });

  it('refuses <webview> and strips what it would have been given', () => {
    const event = { preventDefault: vi.fn() };
    const prefs: Record<string, unknown> = { preload: 'file:///tmp/evil.js', nodeIntegration: true, contextIsolation: false, sandbox: false };
    contents().emit('will-attach-webview', event, prefs, { src: 'https://evil.example/' });
    expect(event.preventDefault).toHaveBeenCalled();
    expect(prefs).not.toHaveProperty('preload');
    expect(prefs).toMatchObject({ nodeIntegration: false, contextIsolation: true, sandbox: true });
  });
});

describe('IPC', () => {
  const getStatus = () => electron.ipcMain.handlers.get('inspector:get-status')!;
  const event = (frame: { url: string; parent: unknown } | null, senderId = win().webContents.id) => ({ sender: { id: senderId }, senderFrame: frame });

  it('answers the main frame of our window showing our page', async () => {
    const result = (await getStatus()(event({ url: win().webContents.mainFrame.url, parent: null }), undefined)) as { server: { running: boolean } };
    expect(result.server.running).toBe(true);
  });

  it.each([
    ['a subframe with our URL', () => event({ url: win().webContents.mainFrame.url, parent: {} })],
    ['another page in our window', () => event({ url: win().webContents.mainFrame.url.replace('index.html', 'other.html'), parent: null })],
    ['a web page', () => event({ url: 'https://evil.example/', parent: null })],
    ['another webContents showing our page', () => event({ url: win().webContents.mainFrame.url, parent: null }, 999)],
    ['a frame already gone', () => event(null)],
    ['a frame that throws when read', () => ({ sender: { id: win().webContents.id }, get senderFrame() { throw new Error('Render frame was disposed'); } })],
  ])('refuses %s', async (_name, make) => {
    await expect(Promise.resolve().then(() => getStatus()(make(), undefined))).rejects.toThrow(/^refused inspector:get-status from /);
  });

  it('sends the window numbered batches and takes its acknowledgements, from that window only (window-stream.ts)', async () => {
    const send = (win().webContents as unknown as { send: ReturnType<typeof vi.fn> }).send;
    const numbered = () => send.mock.calls.filter(([channel]) => channel === 'inspector:batch').map(([, bytes]) => decodeBatch(bytes as Uint8Array) as { stream?: number; seq?: number }).filter((b) => b.seq !== undefined);
    // Starting a server changes the status: a batch goes to the window.
    await getStatus()(event({ url: win().webContents.mainFrame.url, parent: null }), undefined);
    await electron.ipcMain.handlers.get('inspector:start-server')!(event({ url: win().webContents.mainFrame.url, parent: null }), { host: '127.0.0.1', port: 0 });
    await vi.waitFor(() => expect(numbered().length).toBeGreaterThan(0));
    const last = numbered().at(-1)!;
    expect(last.stream).toBeTypeOf('number');
    const ack = electron.ipcMain.handlers.get('inspector:ack-events')!;
    const own = event({ url: win().webContents.mainFrame.url, parent: null });
    expect(await ack(own, { stream: last.stream, seq: last.seq })).toEqual({ ok: true });
    expect(await ack(own, { stream: last.stream, seq: last.seq! + 1000 })).toMatchObject({ ok: false });
    expect(await ack(own, { stream: last.stream! + 1, seq: last.seq })).toMatchObject({ ok: false });
    await expect(Promise.resolve().then(() => ack(event({ url: win().webContents.mainFrame.url, parent: null }, 999), { stream: last.stream, seq: last.seq }))).rejects.toThrow(/^refused inspector:ack-events from /);
  });
});

describe('confirmation before a dangerous action', () => {
  const trusted = () => ({ sender: { id: win().webContents.id }, senderFrame: { url: win().webContents.mainFrame.url, parent: null } });
  const call = (channel: string, arg: unknown) => electron.ipcMain.handlers.get(channel)!(trusted(), arg) as Promise<{ ok: boolean; error?: string }>;

  it('binding a non-loopback address waits for the dialog, parented to the window; Cancel binds nothing', async () => {
    electron.dialog.showMessageBox.mockClear();
    electron.dialog.answer = 0;
    const result = await call('inspector:start-server', { host: '0.0.0.0', port: 0 });
    expect(result.ok).toBe(false);
    expect(electron.dialog.showMessageBox).toHaveBeenCalledOnce();
    const [parent, options] = electron.dialog.showMessageBox.mock.calls[0]!;
    expect(parent).toBe(win());
    expect(options).toMatchObject({ type: 'warning', buttons: ['Cancel', 'Bind'], defaultId: 0, cancelId: 0 });
    expect((options as { detail: string }).detail).toContain('0.0.0.0:0');
    const status = (await call('inspector:get-status', undefined)) as unknown as { server: { host: string } };
    expect(status.server.host).not.toBe('0.0.0.0');
  });

  it('running a launch command waits for the dialog; Cancel runs nothing', async () => {
    electron.dialog.showMessageBox.mockClear();
    electron.dialog.answer = 0;
    const launch = 'definitely-not-a-command-wsi {url}';
    const result = await call('inspector:run-conformance', { mode: 'client', launch, cases: ['1.1.1'] });
    expect(result).toMatchObject({ ok: false });
    const [, options] = electron.dialog.showMessageBox.mock.calls[0]!;
    expect(options).toMatchObject({ buttons: ['Cancel', 'Run'] });
    expect((options as { detail: string }).detail).toContain(launch);
  });

  it('the yes button, and only it, lets the bind through', async () => {
    electron.dialog.showMessageBox.mockClear();
    electron.dialog.answer = 1;
    const result = await call('inspector:start-server', { host: '0.0.0.0', port: 0 });
    expect(result.ok).toBe(true);
    expect(electron.dialog.showMessageBox).toHaveBeenCalledOnce();
    // Back to loopback (no dialog needed) so the test leaves nothing reachable.
    electron.dialog.showMessageBox.mockClear();
    expect((await call('inspector:start-server', { host: '127.0.0.1', port: 0 })).ok).toBe(true);
    expect(electron.dialog.showMessageBox).not.toHaveBeenCalled();
  });
});
