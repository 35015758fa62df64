/**
 * The inspector service's startServer request: allowedOrigins (RFC 6455 §10.2) reaches the
 * embedded server through the same validation every renderer request goes through, and the
 * server binds 127.0.0.1 unless told otherwise. Real `ws` clients, 127.0.0.1, port 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { validateStartServer } from '../../src/service/validation.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { withTimeout } from '../core/net/helpers.ts';

const services: InspectorService[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const s of services.splice(0)) await s.dispose();
});

function service(): InspectorService {
  const s = new InspectorService({ batchIntervalMs: 10, port: 0 });
  services.push(s);
  return s;
}

/** Opens a ws client with an Origin; resolves 'open' or the refusal's status and body. */
function attempt(url: string, origin?: string): Promise<{ open: true } | { status: number; contentType: string; body: string }> {
  return withTimeout(new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(origin ? { origin } : {}) });
    sockets.push(ws);
    ws.once('open', () => resolve({ open: true }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }));
    });
    ws.once('error', (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  }), 10_000, `a ws client to ${url}`);
}

describe('InspectorService.startServer', () => {
  it('binds 127.0.0.1 when no host is given, with no warning', async () => {
    const s = service();
    const result = await s.startServer({ port: 0 });
    expect(result.ok).toBe(true);
    expect(s.getStatus().server).toMatchObject({ running: true, host: '127.0.0.1', warning: null });
    expect((result as { url: string }).url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('allowedOrigins (validated like a renderer request): an allowed Origin connects, others get 403 with a plain body', async () => {
    const s = service();
    const request = validateStartServer({ port: 0, allowedOrigins: ['http://127.0.0.1:5173', 'app://inspector'] });
    const result = await s.startServer(request);
    if (!result.ok) throw new Error(result.error);
    expect(await attempt(result.url, 'http://127.0.0.1:5173')).toEqual({ open: true });
    expect(await attempt(result.url, 'app://inspector')).toEqual({ open: true });
    expect(await attempt(result.url, 'http://evil.example')).toEqual({
      status: 403, contentType: 'text/plain; charset=utf-8',
      body: 'Origin "http://evil.example" is not in the allow-list. (RFC 6455 §4.2.2 (4), §10.2)\n',
    });
    expect(await attempt(result.url)).toMatchObject({ status: 403 });
  });

  it('without allowedOrigins any Origin connects (the default), and a restart without it lifts the list', async () => {
    const s = service();
    const first = await s.startServer({ port: 0, allowedOrigins: ['http://only.example'] });
    if (!first.ok) throw new Error(first.error);
    expect(await attempt(first.url, 'http://other.example')).toMatchObject({ status: 403 });
    const second = await s.startServer({ port: 0 });
    if (!second.ok) throw new Error(second.error);
    expect(await attempt(second.url, 'http://other.example')).toEqual({ open: true });
  });
});
