/**
 * The web host's recording upload (POST /upload/recording): the page's bytes are opened as a
 * recording; without the token, with the wrong type, or over the size cap, refused with one line;
 * a path is never taken from the page.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebHost, TOKEN_HEADER, type WebHost } from '../../src/host/web-host.ts';
import { uploadMaxFrames } from '../../src/host/recording-upload.ts';
import { RECORDING_UPLOAD_PATH } from '../../src/shared/inspector-api.ts';
import { recordEveryFrameType } from '../core/capture/session-fixture.ts';

let root = '';
let host: WebHost;
let session: Buffer;
const LIMIT = 1024 * 1024;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsi-upload-'));
  const rendererDir = join(root, 'renderer');
  mkdirSync(rendererDir);
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><html><head></head><body></body></html>');
  session = readFileSync((await recordEveryFrameType(root)).file);
  host = await startWebHost({ rendererDir, uploadLimitBytes: LIMIT });
}, 30_000);

afterAll(async () => {
  await host?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

function upload(body: Uint8Array | string, headers: Record<string, string> = {}, name = 'every-frame.wsi') {
  return fetch(new URL(`${RECORDING_UPLOAD_PATH}?name=${encodeURIComponent(name)}`, host.url), {
    method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream', [TOKEN_HEADER]: host.token, ...headers },
  });
}

describe('uploading a recording to the web host', () => {
  it('a session file opens: its connections join the status, read-only', async () => {
    expect(session.length).toBeLessThan(LIMIT);
    const response = await upload(session);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { recording: { prefix: string } };
    expect(answer).toMatchObject({ ok: true, recording: { name: 'every-frame.wsi', kind: 'session', connections: 1, error: null } });
    expect(host.service.getStatus().connections.some((c) => c.id.startsWith(answer.recording.prefix) && c.detail?.startsWith('recording (read-only)'))).toBe(true);
  });

  it('over the cap: 413 and one sentence; a bad file or an empty one: one sentence', async () => {
    const big = await upload(new Uint8Array(LIMIT + 1));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toBe(`The file is larger than the ${LIMIT} bytes the app accepts; open it with \`wsinspect open FILE\` instead.`);
    const junk = await (await upload('GIF89a not a capture', {}, 'picture.gif')).json();
    expect(junk).toEqual({ ok: false, error: expect.stringMatching(/^"picture\.gif" is not a wsinspect session, JSON export, HAR file or pcap\/pcapng capture/) });
    expect(await (await upload(new Uint8Array(0), {}, 'nothing.wsi')).json()).toEqual({ ok: false, error: 'nothing.wsi is empty.' });
  });

  it('without the token, as a form, or as a path through the JSON bridge: refused', async () => {
    expect((await upload(session, { [TOKEN_HEADER]: 'guess' })).status).toBe(403);
    expect((await upload(session, { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await upload(session, { Origin: 'http://evil.example' })).status).toBe(403);
    const byPath = await fetch(new URL('/api/openRecording', host.url), { method: 'POST', headers: { 'Content-Type': 'application/json', [TOKEN_HEADER]: host.token }, body: JSON.stringify('/etc/passwd') });
    expect(((await byPath.json()) as { error: string }).error).toMatch(/^In the browser, choose the file: the page uploads it/);
  });

  it('?maxFrames= (the page\'s frame ring) is taken only as a sane whole number', () => {
    const at = (q: string) => uploadMaxFrames(new URL(`http://127.0.0.1/upload/recording?name=x${q}`));
    expect(at('&maxFrames=150000')).toBe(150_000);
    expect([at(''), at('&maxFrames=10'), at('&maxFrames=1e12'), at('&maxFrames=15.5'), at('&maxFrames=abc'), at('&maxFrames=-5000')]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});
