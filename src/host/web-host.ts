/**
 * The web host: the same inspector service under plain Node, serving the built renderer to a
 * browser. The bridge is HTTP: POST /api/<function> with JSON arguments, and one server-sent
 * event stream (/api/events) carrying the service's batches. This is how the app is tested
 * where Electron cannot run, and how it can be used from any browser.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { createHandlers } from '../service/handlers.ts';
import { InspectorService } from '../service/inspector-service.ts';
import { encodeWireJson } from '../shared/wire-json.ts';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export interface WebHostOptions {
  host?: string;
  port?: number;
  rendererDir: string;
  service?: InspectorService;
}

export interface WebHost {
  url: string;
  service: InspectorService;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = encodeWireJson(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const service = options.service ?? new InspectorService();
  const rendererDir = resolve(options.rendererDir);
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`No built renderer at ${rendererDir}: run \`npm run build\` first.`);
  }
  const streams = new Set<ServerResponse>();
  const unsubscribe = service.onBatch((batch) => {
    const data = `data: ${encodeWireJson(batch)}\n\n`;
    for (const res of streams) res.write(data);
  });

  const api: Record<string, (arg: unknown) => unknown> = createHandlers(service);

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/api/events' && req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
        res.write(`data: ${encodeWireJson({ events: [], status: service.getStatus() })}\n\n`);
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      if (url.pathname.startsWith('/api/')) {
        const fn = Object.hasOwn(api, url.pathname.slice(5)) ? api[url.pathname.slice(5)] : undefined;
        if (!fn || req.method !== 'POST') return sendJson(res, 404, { ok: false, error: `no such call ${url.pathname}` });
        try {
          const body = await readBody(req);
          const arg = body ? (JSON.parse(body) as unknown) : undefined;
          return sendJson(res, 200, await fn(arg));
        } catch (error) {
          return sendJson(res, 200, { ok: false, error: (error as Error).message });
        }
      }
      // Static files from the built renderer; nothing outside it.
      const relative = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
      const file = resolve(rendererDir, relative || 'index.html');
      if (!file.startsWith(rendererDir) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found');
        return;
      }
      res.writeHead(200, { 'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
      createReadStream(file).pipe(res);
    })().catch(() => { if (!res.headersSent) res.writeHead(400, { 'Content-Type': 'text/plain' }); res.end('bad request'); });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    service,
    async close() {
      unsubscribe();
      for (const res of streams) res.end();
      streams.clear();
      await service.dispose();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
