/**
 * The web host: the same inspector service under plain Node, serving the built renderer to a
 * browser. The bridge is HTTP: POST /api/<function> with JSON arguments, and one event stream
 * (GET /api/events) carrying the service's batches. This is how the app is tested where
 * Electron cannot run, and how it can be used from any browser.
 *
 * Any web page the user visits can send requests to a localhost port, and DNS rebinding can
 * make a page's own host name resolve to 127.0.0.1. So the bridge obeys only its own page
 * (bridge-guard.ts; SECURITY.md explains each check):
 *   - Host must name this listener (127.0.0.1:PORT, localhost:PORT, [::1]:PORT): no rebinding;
 *   - Origin, when present, must be this very origin;
 *   - every API call and the event stream carry a per-run token in a custom header (which a
 *     cross-origin page can only send after a CORS preflight, and every preflight is refused);
 *     the token reaches the page inside index.html, which another origin cannot read;
 *   - calls must say Content-Type: application/json (a form or a no-cors fetch cannot).
 * Launching a command or binding a non-loopback address also needs a person's yes (the service's
 * confirmation prompt), which a request alone cannot give.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { isLoopbackHost } from '../core/net/server.ts';
import { createHandlers } from '../service/handlers.ts';
import { InspectorService } from '../service/inspector-service.ts';
import { encodeWireJson } from '../shared/wire-json.ts';
import { checkApiRequest, checkHostAndOrigin, ownHosts, TOKEN_HEADER } from './bridge-guard.ts';
import { EventStreams } from './event-streams.ts';
import type { FoldPolicy } from '../service/frame-folding.ts';
import { RECORDING_PACE } from '../service/page-streams.ts';
import { DEFAULT_UPLOAD_LIMIT_BYTES, receiveRecording } from './recording-upload.ts';
import { RECORDING_UPLOAD_PATH } from '../shared/inspector-api.ts';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Sent with every answer: no sniffing, no embedding in another site's frames, no referrer. */
const baseHeaders = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  // Framing would let another site clickjack a confirmation; the page's own CSP is in index.html.
  'Content-Security-Policy': "frame-ancestors 'none'",
} as const;

export interface WebHostOptions {
  /** A loopback address (default 127.0.0.1): the bridge is for this machine only. */
  host?: string;
  port?: number;
  rendererDir: string;
  service?: InspectorService;
  /**
   * Bytes queued for one event-stream subscriber before its batches are dropped (default 64 MiB:
   * a burst of 100,000 frames, about 60 MB of trace, still reaches a busy page whole).
   */
  streamQueueLimitBytes?: number;
  /**
   * When a page that fell behind the wire gets folded rows instead of frames (default: once its
   * oldest unacknowledged batch is 120 ms old; src/service/frame-folding.ts). foldAfterMs Infinity: never.
   */
  foldPolicy?: FoldPolicy;
  /** The largest recording file the page may upload (default 2 GiB; recording-upload.ts). */
  uploadLimitBytes?: number;
}

export interface WebHost {
  url: string;
  service: InspectorService;
  /** This run's bridge token (in-process callers and tests; the page reads it from index.html). */
  token: string;
  /** Each event-stream subscriber's queued bytes and dropped events (diagnostics, tests). */
  streamStats(): Array<{ queuedBytes: number; droppedEvents: number; foldedFrames: number; foldRows: number; folding: boolean }>;
  /** How many requests the bridge guard refused so far (diagnostics, tests). */
  refusedRequests(): number;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge(`request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { ...baseHeaders, 'Content-Type': 'application/json; charset=utf-8' });
  res.end(encodeWireJson(value));
}

function sendPlain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...baseHeaders, 'Content-Type': 'text/plain; charset=utf-8', ...extra });
  res.end(text);
}

/** index.html with this run's token in a meta tag the bridge reads (same-origin only can). */
function indexWithToken(file: string, token: string): string {
  const html = readFileSync(file, 'utf8');
  const meta = `<meta name="inspector-token" content="${token}" />`;
  return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (head) => `${head}\n    ${meta}`) : `${meta}\n${html}`;
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const listenHost = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(listenHost)) {
    throw new Error(`The web host listens on this machine only (127.0.0.1, localhost or ::1), not on ${listenHost}: its bridge drives the app.`);
  }
  const service = options.service ?? new InspectorService();
  const rendererDir = resolve(options.rendererDir);
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`No built renderer at ${rendererDir}: run \`npm run build\` first.`);
  }
  const token = randomBytes(32).toString('base64url');
  const streams = new EventStreams(service, options.streamQueueLimitBytes ?? 64 * 1024 * 1024, 8, options.foldPolicy);
  // A recording being opened is paced to the pages (a third of the lag at which their frames would fold).
  service.setRecordingPace(() => streams.untilCaughtUp(RECORDING_PACE.lagMs, RECORDING_PACE.stalledMs));
  const api: Record<string, (arg: unknown) => unknown> = createHandlers(service);
  // The page says which batches it applied: a page behind the wire gets its frames folded (event-streams.ts).
  api['ackEvents'] = (arg) => streams.ack(arg);
  // The page never names a path on this machine: it uploads the file the person chose.
  api['openRecording'] = () => ({ ok: false, error: `In the browser, choose the file: the page uploads it (POST ${RECORDING_UPLOAD_PATH}).` });
  let allowedHosts: ReadonlySet<string> = new Set();
  let refused = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refusal = checkHostAndOrigin(req, allowedHosts);
    if (refusal) {
      refused++;
      req.resume();
      return sendPlain(res, refusal.status, refusal.message);
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === RECORDING_UPLOAD_PATH) {
      const uploadRefusal = checkApiRequest(req, token, 'POST', 'application/octet-stream');
      if (uploadRefusal) {
        if (uploadRefusal.status !== 404) refused++;
        req.resume();
        return sendPlain(res, uploadRefusal.status, uploadRefusal.message);
      }
      const answer = await receiveRecording(req, url, service, options.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT_BYTES);
      return sendJson(res, answer.status, answer.body);
    }
    if (url.pathname.startsWith('/api/')) {
      const name = url.pathname.slice(5);
      const isEvents = name === 'events';
      const fn = !isEvents && Object.hasOwn(api, name) ? api[name] : undefined;
      if (!isEvents && !fn) return sendJson(res, 404, { ok: false, error: `no such call ${url.pathname}` });
      const apiRefusal = checkApiRequest(req, token, isEvents ? 'GET' : 'POST');
      if (apiRefusal) {
        if (apiRefusal.status !== 404) refused++;
        req.resume(); // never read a refused body into memory
        return apiRefusal.status === 404
          ? sendJson(res, 404, { ok: false, error: `no such call ${req.method} ${url.pathname}` })
          : sendPlain(res, apiRefusal.status, apiRefusal.message);
      }
      if (isEvents) {
        if (!streams.add(res, baseHeaders)) sendPlain(res, 503, 'too many event streams open');
        return;
      }
      let arg: unknown;
      try {
        const body = await readBody(req);
        arg = body ? (JSON.parse(body) as unknown) : undefined;
      } catch (error) {
        if (error instanceof BodyTooLarge) return sendPlain(res, 413, error.message, { Connection: 'close' });
        return sendJson(res, 200, { ok: false, error: `The request body is not JSON: ${(error as Error).message}` });
      }
      try {
        return sendJson(res, 200, await fn!(arg));
      } catch (error) {
        return sendJson(res, 200, { ok: false, error: (error as Error).message });
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendPlain(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    // Static files from the built renderer; nothing outside it.
    const relative = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
    const file = resolve(rendererDir, relative || 'index.html');
    if ((file !== rendererDir && !file.startsWith(rendererDir + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      return sendPlain(res, 404, 'not found');
    }
    if (file === join(rendererDir, 'index.html')) {
      res.writeHead(200, { ...baseHeaders, 'Content-Type': contentTypes['.html']! });
      res.end(indexWithToken(file, token));
      return;
    }
    res.writeHead(200, { ...baseHeaders, 'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendPlain(res, 400, 'bad request');
      else res.destroy();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, listenHost, () => resolveListen());
  });
  server.on('error', () => {
    // After listening, errors belong to single requests.
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  allowedHosts = ownHosts(port);
  const shownHost = listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  return {
    url: `http://${shownHost}:${port}/`,
    service,
    token,
    streamStats: () => streams.stats(),
    refusedRequests: () => refused,
    async close() {
      service.setRecordingPace(null);
      streams.close();
      await service.dispose();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export { TOKEN_HEADER };
