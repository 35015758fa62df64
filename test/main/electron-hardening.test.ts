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

  it('denies new windows through setWindowOpenHandler', () => {
    let handler: ts.Node | undefined;
    walk(source, (node) => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'setWindowOpenHandler') handler = node.arguments[0];
    });
    expect(handler, 'a setWindowOpenHandler call').toBeDefined();
    const returns: string[] = [];
    walk(handler!, (node) => {
      if (ts.isReturnStatement(node) && node.expression) returns.push(node.expression.getText().replace(/\s+/g, ' '));
    });
    if (handler && ts.isArrowFunction(handler) && !ts.isBlock(handler.body)) returns.push(handler.body.getText().replace(/\s+/g, ' '));
    expect(returns.length).toBeGreaterThan(0);
    for (const value of returns) expect(value).toMatch(/^\(?\{ action: 'deny' \}\)?$/);
  });

  it('prevents will-navigate', () => {
    let handler: ts.Node | undefined;
    walk(source, (node) => {
      if (
        ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'on' &&
        node.arguments[0] && ts.isStringLiteral(node.arguments[0]) && node.arguments[0].text === 'will-navigate'
      ) handler = node.arguments[1];
    });
    expect(handler, 'a will-navigate handler').toBeDefined();
    expect(handler!.getText()).toMatch(/\.preventDefault\(\)/);
  });

  it('opens only https:// links externally', () => {
    const external = /if \((.*)\) void shell\.openExternal\(url\)/.exec(text);
    expect(external?.[1]).toMatch(/startsWith\('https:\/\/'\)/);
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
    const expected = inspectorApiMembers().map((name) => (name === 'onBatch' ? 'onBatchJson' : name));
    expect(expected.length).toBeGreaterThanOrEqual(8);
    expect([...exposed].sort()).toEqual([...expected].sort());
  });

  it('gets batches from the main process as wire JSON text (src/main/ipc.ts), not as cloned byte views', () => {
    expect(read('src/main/ipc.ts')).toMatch(/contents\.send\(channels\.batch, encodeWireJson\(batch\)\)/);
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
        expect(body).toMatch(/\(_event[^,]*, json: string\) => listener\(json\)/);
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
    const invokable = Object.keys(channels).filter((k) => k !== 'batch').sort();
    expect(invokable.length).toBeGreaterThanOrEqual(7);
    expect(Object.keys(handlers).sort()).toEqual(invokable);
    expect(text).not.toMatch(/channels\.batch\b[^)]*handle/);
  });

  it('checks the sender before every call and validates arguments before the service sees them', () => {
    expect(text).toMatch(/if \(!isTrustedSender\(event, rendererUrl\)\) throw/);
    const calls: string[] = [];
    const handlers = createHandlers(recordingService(calls));
    const taking = Object.keys(handlers).filter((k) => !['getStatus', 'stopServer', 'listPresets'].includes(k)) as Array<keyof typeof handlers>;
    for (const name of taking) {
      expect(() => handlers[name](42), name).toThrow();
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
