/**
 * The end-to-end harness shared by the renderer tests: the web host (the same inspector
 * service Electron runs) with its embedded echo server, a plain page on a 127.0.0.1 origin for
 * Chromium's own WebSocket, and Debian's Chromium showing the built renderer.
 */
import { mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import { startWebHost, type WebHost } from '../../src/host/web-host.ts';
import { InspectorService, type InspectorServiceOptions } from '../../src/service/inspector-service.ts';
import { launchChromium } from './chromium.ts';
import type { FoldPolicy } from '../../src/service/frame-folding.ts';

/** The built renderer; WSI_RENDERER_DIR may point at another build (as in byte-stepper.e2e.test.ts). */
const rendererDir = process.env['WSI_RENDERER_DIR'] ?? fileURLToPath(new URL('../../out/renderer', import.meta.url));
const shots = fileURLToPath(new URL('../../.test-output/screenshots', import.meta.url));

export interface Inspector {
  host: WebHost;
  browser: Browser;
  /** The inspector's own page. */
  page: Page;
  /** The embedded server's ws:// URL. */
  serverUrl: string;
  /** A blank page on http://127.0.0.1 (Chromium's WebSocket needs a real origin). */
  peerPageUrl: string;
  /** Uncaught errors in the inspector's page. */
  pageErrors: string[];
  /** Saves a screenshot of the inspector's page to .test-output/screenshots/NAME.png. */
  shot(name: string): Promise<void>;
  /** The id of the connection of this role that appeared since the last call. */
  newConnectionId(role?: 'server' | 'client'): Promise<string>;
  close(): Promise<void>;
}

/**
 * service: options for the web host's inspector service (e.g. a temporary configDir for the TLS
 * certificate). serverDeflate: the embedded server accepts permessage-deflate (default off).
 * uploadLimitBytes: the web host's cap on an uploaded recording. foldPolicy: when the web host folds
 * the frames of a page that fell behind (web-host.ts).
 */
export async function startInspector(options: { service?: InspectorServiceOptions; serverDeflate?: boolean; uploadLimitBytes?: number; foldPolicy?: FoldPolicy } = {}): Promise<Inspector> {
  mkdirSync(shots, { recursive: true });
  const host = await startWebHost({
    rendererDir, ...(options.service ? { service: new InspectorService(options.service) } : {}), ...(options.uploadLimitBytes ? { uploadLimitBytes: options.uploadLimitBytes } : {}),
    ...(options.foldPolicy ? { foldPolicy: options.foldPolicy } : {}),
  });
  // permessage-deflate off unless asked for: most tests read plain frames byte by byte (Chromium
  // would otherwise negotiate it and every frame would carry DEFLATE data; deflate.e2e.test.ts asks).
  const started = await host.service.startServer({ port: 0, app: 'echo', deflate: options.serverDeflate ?? false });
  if (!started.ok) throw new Error(started.error);
  const peerPage: HttpServer = createHttpServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>a page with a WebSocket</title>');
  });
  await new Promise<void>((r) => peerPage.listen(0, '127.0.0.1', () => r()));
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(host.url);
  await page.getByTestId('server-status').getByText(started.url).waitFor();
  const known = new Set<string>();
  return {
    host, browser, page, serverUrl: started.url, pageErrors,
    peerPageUrl: `http://127.0.0.1:${(peerPage.address() as AddressInfo).port}/`,
    async shot(name) {
      await page.screenshot({ path: `${shots}/${name}.png` });
    },
    async newConnectionId(role = 'server') {
      for (let i = 0; i < 200; i++) {
        const fresh = host.service.getStatus().connections.find((c) => c.role === role && !known.has(c.id));
        if (fresh) {
          known.add(fresh.id);
          return fresh.id;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no new connection appeared');
    },
    async close() {
      await browser.close();
      await host.close();
      peerPage.close();
    },
  };
}

/** A raw TCP client of a ws:// server, past the opening handshake (the RFC's sample key). */
export interface RawWsClient {
  socket: Socket;
  /** Bytes received since the handshake's head (or since the last clear()). */
  received(): Buffer;
  clear(): void;
  /** The 101 response head, as received. */
  head: string;
}

export async function openRawClient(serverUrl: string): Promise<RawWsClient> {
  const socket: Socket = netConnect(Number(new URL(serverUrl).port), '127.0.0.1');
  let buffer = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (buffer = Buffer.concat([buffer, d])));
  await new Promise((r) => socket.once('connect', r));
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  for (let i = 0; i < 400 && !buffer.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 25));
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('no handshake response');
  const head = buffer.toString('latin1', 0, end + 4);
  buffer = buffer.subarray(end + 4);
  return { socket, head, received: () => buffer, clear: () => (buffer = Buffer.alloc(0)) };
}

export function openWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
