/**
 * Electron cannot run here, so its security settings are checked on the source text (parsed
 * with the TypeScript compiler where structure matters): the window, the preload's API, the
 * renderer's CSP, the IPC registrations, and that the electron-free layers stay electron-free.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { createHandlers } from '../../src/service/handlers.ts';
import type { InspectorService } from '../../src/service/inspector-service.ts';
import { channels } from '../../src/shared/inspector-api.ts';

/** A stand-in service that only records which functions were called. */
function recordingService(calls: string[]): InspectorService {
  return new Proxy({}, { get: (_target, name) => () => (calls.push(String(name)), { ok: true }) }) as InspectorService;
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const parse = (path: string) => ts.createSourceFile(path, read(path), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/** The object literal passed as `webPreferences` to `new BrowserWindow({...})`. */
function webPreferences(source: ts.SourceFile): Map<string, string> {
  const found = new Map<string, string>();
  walk(source, (node) => {
    if (!ts.isNewExpression(node) || node.expression.getText() !== 'BrowserWindow') return;
    const options = node.arguments?.[0];
    if (!options || !ts.isObjectLiteralExpression(options)) return;
    for (const prop of options.properties) {
      if (!ts.isPropertyAssignment(prop) || prop.name.getText() !== 'webPreferences' || !ts.isObjectLiteralExpression(prop.initializer)) continue;
      for (const pref of prop.initializer.properties) {
        if (ts.isPropertyAssignment(pref)) found.set(pref.name.getText(), pref.initializer.getText());
        else found.set(pref.getText(), '<not a plain assignment>');
      }
    }
  });
  return found;
}

describe('main window (src/main/index.ts)', () => {
  const text = read('src/main/index.ts');
  const source = parse('src/main/index.ts');
  const prefs = webPreferences(source);

  it('creates the window with isolation, the sandbox and no node integration', () => {
    expect(prefs.size).toBeGreaterThan(0);
    expect(prefs.get('contextIsolation')).toBe('true');
    expect(prefs.get('sandbox')).toBe('true');
    expect(prefs.get('nodeIntegration')).toBe('false');
    // Nothing that weakens it.
    expect(prefs.get('webSecurity') ?? 'true').toBe('true');
    for (const risky of ['allowRunningInsecureContent', 'nodeIntegrationInWorker', 'nodeIntegrationInSubFrames', 'webviewTag', 'experimentalFeatures', 'enableBlinkFeatures']) {
      expect(prefs.has(risky), risky).toBe(false);
    }
    expect(text).not.toMatch(/contextIsolation:\s*false|sandbox:\s*false|nodeIntegration:\s*true|webSecurity:\s*false/);
  });

  it('creates exactly one BrowserWindow, here, and nothing else in src/main creates windows or views', () => {
    const creations = mainFiles().flatMap((file) => {
      const found: string[] = [];
      walk(parse(file), (node) => {
        if (ts.isNewExpression(node) && /^(BrowserWindow|BrowserView|WebContentsView)$/.test(node.expression.getText())) found.push(`${file}: ${node.expression.getText()}`);
      });
      return found;
    });
    expect(creations).toEqual(['src/main/index.ts: BrowserWindow']);
  });

  it('installs the web-contents guard at load, before any window can exist (a top-level statement)', () => {
    const topLevel = source.statements.filter((s) => ts.isExpressionStatement(s) && /^guardWebContents\(rendererUrl\)$/.test(s.expression.getText()));
    expect(topLevel).toHaveLength(1);
    const firstWindow = text.indexOf('createWindow();');
    expect(firstWindow).toBeGreaterThan(text.indexOf('guardWebContents(rendererUrl);'));
  });

  it('denies every permission on the default session once the app is ready, before the window', () => {
    const ready = methodCalls(source, 'then').find((c) => c.expression.getText() === 'app.whenReady().then');
    const body = ready?.arguments[0]?.getText() ?? '';
    expect(body).toContain('denyAllPermissions(session.defaultSession);');
    expect(body.indexOf('denyAllPermissions(session.defaultSession);')).toBeLessThan(body.indexOf('createWindow();'));
  });

  it('takes the dev server URL only through devRendererUrl (unpackaged, loopback), and loads nothing else by URL', () => {
    expect(text.match(/ELECTRON_RENDERER_URL/g)).toHaveLength(1);
    expect(text).toMatch(/const devUrl = devRendererUrl\(process\.env\['ELECTRON_RENDERER_URL'\], app\.isPackaged\);/);
    const loads: string[] = [];
    walk(source, (node) => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && /^load(URL|File)$/.test(node.expression.name.text)) loads.push(node.getText());
    });
    expect(loads.sort()).toEqual(['window.loadFile(rendererFile)', 'window.loadURL(devUrl)']);
  });

  it('gives the service a Confirmer built on a main-process dialog', () => {
    expect(text).toMatch(/const confirm = dialogConfirmer\(\(options\) => \(mainWindow && !mainWindow\.isDestroyed\(\) \? dialog\.showMessageBox\(mainWindow, options\) : dialog\.showMessageBox\(options\)\)\);/);
    expect(text).toMatch(/new InspectorService\(\{ \.\.\.serviceOptionsFromEnv\(process\.env\), confirm \}\)/);
  });
});

/** src/main and src/preload, as paths relative to the root. */
function mainFiles(): string[] {
  return ['src/main', 'src/preload'].flatMap((dir) => filesUnder(join(root, dir))).map((f) => relative(root, f));
}

/** Calls of `<something>.<method>(...)` in a source file. */
function methodCalls(source: ts.SourceFile, method: string): ts.CallExpression[] {
  const calls: ts.CallExpression[] = [];
  walk(source, (node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === method) calls.push(node);
  });
  return calls;
}

/** The listener registered with `.on('<event>', listener)`. */
function listenerFor(source: ts.SourceFile, event: string): ts.Node | undefined {
  return methodCalls(source, 'on').find((c) => c.arguments[0] && ts.isStringLiteral(c.arguments[0]) && c.arguments[0].text === event)?.arguments[1];
}

describe('the web-contents guard (src/main/security.ts)', () => {
  const source = parse('src/main/security.ts');

  it('is an app-wide web-contents-created listener, so every webContents gets it, not only the window', () => {
    const onCreated = methodCalls(source, 'on').filter((c) => c.expression.getText() === 'app.on' && c.arguments[0]?.getText() === "'web-contents-created'");
    expect(onCreated).toHaveLength(1);
    const body = onCreated[0]!.arguments[1]!.getText();
    for (const part of ['denyAllPermissions(contents.session)', 'contents.setWindowOpenHandler(', "contents.on('will-navigate'", "contents.on('will-frame-navigate'", "contents.on('will-redirect'", "contents.on('will-attach-webview'"]) {
      expect(body, part).toContain(part);
    }
  });

  it('denies new windows: setWindowOpenHandler only ever returns { action: deny }', () => {
    const handlers = methodCalls(source, 'setWindowOpenHandler').map((c) => c.arguments[0]!);
    expect(handlers).toHaveLength(1);
    const returns: string[] = [];
    walk(handlers[0]!, (node) => {
      if (ts.isReturnStatement(node)) returns.push(node.expression?.getText().replace(/\s+/g, ' ') ?? '<nothing>');
    });
    if (ts.isArrowFunction(handlers[0]!) && !ts.isBlock(handlers[0]!.body)) returns.push(handlers[0]!.body.getText().replace(/\s+/g, ' '));
    expect(returns.length).toBeGreaterThan(0);
    for (const value of returns) expect(value).toMatch(/^\(?\{ action: 'deny' \}\)?$/);
  });

  it.each(['will-navigate', 'will-frame-navigate', 'will-redirect'])('%s: prevented unless the URL is our renderer (isTrustedSenderUrl)', (event) => {
    const handler = listenerFor(source, event);
    expect(handler, event).toBeDefined();
    const body = handler!.getText();
    expect(body).toMatch(/event\.preventDefault\(\)/);
    expect(body).toMatch(/isTrustedSenderUrl\(event\.url, rendererUrl\)/);
  });

  it('will-attach-webview: preload stripped, node off, isolation and sandbox on, then always prevented', () => {
    const handler = listenerFor(source, 'will-attach-webview');
    expect(handler && ts.isArrowFunction(handler) && ts.isBlock(handler.body)).toBe(true);
    const statements = ((handler as ts.ArrowFunction).body as ts.Block).statements.map((s) => s.getText());
    expect(statements).toEqual([
      'delete webPreferences.preload;',
      'webPreferences.nodeIntegration = false;',
      'webPreferences.contextIsolation = true;',
      'webPreferences.sandbox = true;',
      'event.preventDefault();',
    ]);
  });

  it('permission handlers exist only here, and refuse: callback(false), check false, device false', () => {
    for (const file of mainFiles().filter((f) => f !== 'src/main/security.ts')) {
      expect(read(file), file).not.toMatch(/set(Permission(Request|Check)|DevicePermission)Handler/);
    }
    const [request] = methodCalls(source, 'setPermissionRequestHandler');
    const [check] = methodCalls(source, 'setPermissionCheckHandler');
    const [device] = methodCalls(source, 'setDevicePermissionHandler');
    expect(request?.arguments[0]?.getText()).toBe('(_contents, _permission, callback) => callback(false)');
    expect(check?.arguments[0]?.getText()).toBe('() => false');
    expect(device?.arguments[0]?.getText()).toBe('() => false');
  });

  it('shell.openExternal is called in one place, only with what allowedExternalUrl returned, and only when it is not null', () => {
    const calls = mainFiles().flatMap((file) => methodCalls(parse(file), 'openExternal').map((call) => ({ file, call })));
    expect(calls.map((c) => c.file)).toEqual(['src/main/security.ts']);
    const { call } = calls[0]!;
    const arg = call.arguments[0]!;
    expect(ts.isIdentifier(arg)).toBe(true);
    let fn: ts.Node = call;
    while (!ts.isFunctionDeclaration(fn)) fn = fn.parent;
    const fnText = fn.getText();
    expect(fnText).toContain(`const ${arg.getText()} = allowedExternalUrl(url);`);
    let guard: ts.Node = call;
    while (!ts.isIfStatement(guard)) guard = guard.parent;
    expect((guard as ts.IfStatement).expression.getText()).toBe(`${arg.getText()} !== null`);
  });
});

// ------------------------------------------------------------------------------------- preload

/** Names of the members of `interface InspectorApi`. */
function inspectorApiMembers(): string[] {
  const source = parse('src/shared/inspector-api.ts');
  const names: string[] = [];
  walk(source, (node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'InspectorApi') {
      for (const member of node.members) if (member.name) names.push(member.name.getText());
    }
  });
  return names;
}

describe('preload (src/preload/index.ts)', () => {
  const text = read('src/preload/index.ts');
  const source = parse('src/preload/index.ts');

  const exposeCalls: ts.CallExpression[] = [];
  walk(source, (node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'exposeInMainWorld') exposeCalls.push(node);
  });

  it('never exposes ipcRenderer itself', () => {
    expect(text).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer/);
    expect(text).not.toMatch(/\.\.\.\s*ipcRenderer/);
    // Every use of ipcRenderer is a call of one of its methods, never the object as a value.
    const allowed = new Set(['invoke', 'on', 'removeListener', 'off', 'once']);
    const uses: string[] = [];
    walk(source, (node) => {
      if (!ts.isIdentifier(node) || node.text !== 'ipcRenderer') return;
      const parent = node.parent;
      if (ts.isImportSpecifier(parent)) return;
      const ok = ts.isPropertyAccessExpression(parent) && parent.expression === node && allowed.has(parent.name.text) &&
        ts.isCallExpression(parent.parent) && parent.parent.expression === parent;
      uses.push(`${ok ? 'ok' : 'BAD'}: ${parent.parent.getText().slice(0, 80)}`);
    });
    expect(uses.length).toBeGreaterThan(0);
    expect(uses.filter((u) => u.startsWith('BAD'))).toEqual([]);
  });

  it('exposes one object, `inspector`, with exactly the functions of InspectorApi (batches as text: onBatchJson)', () => {
    expect(exposeCalls).toHaveLength(1);
    const call = exposeCalls[0]!;
    const [name, value] = call.arguments;
    expect(name && ts.isStringLiteral(name) ? name.text : null).toBe('inspector');
    expect(value && ts.isIdentifier(value)).toBe(true);

    let literal: ts.ObjectLiteralExpression | undefined;
    let typeName: string | undefined;
    walk(source, (node) => {
      if (ts.isVariableDeclaration(node) && node.name.getText() === value!.getText() && node.initializer && ts.isObjectLiteralExpression(node.initializer)) {
        literal = node.initializer;
        typeName = node.type?.getText();
      }
    });
    expect(literal, `the object literal ${value!.getText()}`).toBeDefined();
    expect(typeName).toBe('PreloadApi');
    const exposed = literal!.properties.map((p) => {
      expect(ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p), `${p.getText().slice(0, 40)} is a plain function property`).toBe(true);
      return p.name!.getText();
    });
    // ackEvents: the page's acknowledgements of the batches it applied (src/main/window-stream.ts).
    const expected = [...inspectorApiMembers().map((name) => (name === 'onBatch' ? 'onBatchJson' : name)), 'ackEvents'];
    expect(expected.length).toBeGreaterThanOrEqual(8);
    expect([...exposed].sort()).toEqual([...expected].sort());
  });

  it('gets batches from the main process as one binary batch each (src/main/ipc.ts, window-stream.ts), not as cloned events and byte views', () => {
    expect(read('src/main/ipc.ts')).toMatch(/new WindowStream\(service, target, channels\.batch\)/);
    expect(read('src/main/window-stream.ts')).toMatch(/\.send\(channel, encodeBatch\(batch\)\)/);
  });

  it('calls each function over its own channel and listens only on the batch channel', () => {
    let literal: ts.ObjectLiteralExpression | undefined;
    walk(source, (node) => {
      if (ts.isVariableDeclaration(node) && node.name.getText() === 'api' && node.initializer && ts.isObjectLiteralExpression(node.initializer)) literal = node.initializer;
    });
    for (const prop of literal!.properties) {
      const name = prop.name!.getText();
      const body = prop.getText();
      if (name === 'onBatchJson') {
        expect(body).toMatch(/ipcRenderer\.on\(channels\.batch,/);
        expect(body).toMatch(/ipcRenderer\.removeListener\(channels\.batch,/);
        // The IPC event object is not forwarded to the page; the batch arrives as text.
        expect(body).toMatch(/\(_event[^,]*, batch: Uint8Array\) => listener\(batch\)/);
      } else {
        expect(body).toMatch(new RegExp(`ipcRenderer\\.invoke\\(channels\\.${name}[,)]`));
      }
    }
  });
});

// ------------------------------------------------------------------------------------- renderer

describe('renderer page (src/renderer/index.html)', () => {
  const html = read('src/renderer/index.html');
  const csp = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html)?.[1];

  it('has a Content-Security-Policy meta without unsafe-eval', () => {
    expect(csp, 'a CSP meta tag').toBeDefined();
    expect(csp).not.toMatch(/unsafe-eval/);
    expect(csp).toMatch(/default-src 'self'/);
  });

  it('allows scripts only from itself', () => {
    const scriptSrc = /script-src ([^;]+)/.exec(csp ?? '')?.[1]?.trim();
    expect(scriptSrc).toBe("'self'");
    expect(csp).not.toMatch(/\*/);
  });
});

// ------------------------------------------------------------------------------------- IPC

describe('IPC registrations (src/main/ipc.ts)', () => {
  const text = read('src/main/ipc.ts');

  it('registers every channel but batch, all through one sender-checking helper', () => {
    expect(text).toMatch(/ipcMain\.handle\(channel,/);
    expect(text).toMatch(/createHandlers\(service\)/);
    const handlers = createHandlers(recordingService([]));
    const invokable = Object.keys(channels).filter((k) => k !== 'batch' && k !== 'ackEvents').sort();
    expect(invokable.length).toBeGreaterThanOrEqual(7);
    expect(Object.keys(handlers).sort()).toEqual(invokable);
    // The acknowledgements go to the window's stream, through the same sender-checking helper.
    expect(text).toMatch(/handle\(channels\.ackEvents, \(arg, senderId\) => stream\.ack\(senderId, arg\)\)/);
    expect(text).not.toMatch(/channels\.batch\b[^)]*handle/);
  });

  it('checks the sender before every call and validates arguments before the service sees them', () => {
    expect(text).toMatch(/if \(!isTrustedSender\(event, rendererUrl, target\(\)\)\) throw/);
    // Exact origin or file and the main frame of our window (trust.ts), never a string prefix.
    expect(text).toMatch(/isTrustedIpcSender\(\s*\{ frame: event\.senderFrame, webContentsId: event\.sender\.id \}/);
    expect(text).not.toMatch(/startsWith\(/);
    const calls: string[] = [];
    const handlers = createHandlers(recordingService(calls));
    // Handlers that take nothing have nothing to validate; each of them is checked to take no parameter.
    const argumentless = ['getStatus', 'stopServer', 'listPresets', 'stopProxy', 'stopRecording', 'saveSession', 'getSavedWork'];
    for (const name of argumentless) expect((handlers as Record<string, (...args: unknown[]) => unknown>)[name]?.length, name).toBe(0);
    const taking = Object.keys(handlers).filter((k) => !argumentless.includes(k)) as Array<keyof typeof handlers>;
    // A number is the wrong type for every handler but startRecording, whose cap is one: give it a negative cap.
    for (const name of taking) {
      expect(() => handlers[name](name === 'startRecording' ? -1 : 42), name).toThrow();
      if (!['startServer', 'setServerApp', 'connectClient', 'dropConnection', 'byteStepStart', 'byteStepFeed'].includes(name)) {
        expect(() => handlers[name]({ connectionId: 7 }), name).toThrow();
      }
    }
    expect(calls).toEqual([]); // nothing malformed reached the service
    handlers.send({ connectionId: 'c', kind: 'text', text: 'hi' });
    handlers.stepControl({ connectionId: 'c', action: 'step' });
    expect(calls).toEqual(['send', 'stepControl']);
  });

  it('has unique channel names in its own namespace', () => {
    const values = Object.values(channels);
    expect(new Set(values).size).toBe(values.length);
    for (const value of values) expect(value).toMatch(/^inspector:[a-z-]+$/);
  });
});

// ------------------------------------------------------------------------------------- layering

const ELECTRON_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]electron(?:\/[^'"]*)?['"]/;
const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else if (/\.(ts|tsx|mts|cts|js|mjs|cjs)$/.test(entry)) out.push(path);
  }
  return out;
}

describe('electron-free layers', () => {
  const layers = ['src/core', 'src/service', 'src/host', 'src/shared', 'src/cli'];
  const files = layers.flatMap((dir) => filesUnder(join(root, dir)));

  it('finds the files to check', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const layer of layers) expect(files.some((f) => relative(root, f).startsWith(layer)), layer).toBe(true);
  });

  it.each(layers)('nothing under %s imports electron', (layer) => {
    const offenders = files.filter((f) => relative(root, f).startsWith(layer) && ELECTRON_IMPORT.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(root, f))).toEqual([]);
  });

  it('nor does anything they import, transitively', () => {
    const seen = new Set<string>();
    const offenders: string[] = [];
    const visit = (file: string, via: string[]) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      if (ELECTRON_IMPORT.test(text)) offenders.push([...via, relative(root, file)].join(' → '));
      for (const match of text.matchAll(RELATIVE_IMPORT)) {
        const target = resolve(dirname(file), match[1]!);
        visit(target, [...via, relative(root, file)]);
      }
    };
    for (const file of files) visit(file, []);
    expect(seen.size).toBeGreaterThanOrEqual(files.length);
    // The host and the main process share the service's validation; it must stay electron-free too.
    expect([...seen].map((f) => relative(root, f))).toContain('src/service/validation.ts');
    expect(offenders).toEqual([]);
  });

  it('the check itself recognises electron imports', () => {
    for (const line of ["import { app } from 'electron';", 'import electron from "electron"', "const { ipcMain } = require('electron')", "await import('electron')", "import 'electron/main'"]) {
      expect(ELECTRON_IMPORT.test(line), line).toBe(true);
    }
    for (const line of ["import { x } from './electron-free.ts';", "// no electron here", "import { y } from 'electron-vite'"]) {
      expect(ELECTRON_IMPORT.test(line), line).toBe(false);
    }
  });
});
