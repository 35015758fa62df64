/**
 * wsinspect and permessage-deflate: on by default in serve and connect, off with --no-deflate, and
 * both traces (jsonl and pretty) showing the compressed wire bytes beside the plain ones.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { killRunning, runCli as run, waitFor, type Run } from '../support/cli.ts';

afterEach(() => killRunning());

async function startServe(extra: string[] = []): Promise<{ run: Run; url: string }> {
  const r = run(['serve', '--port', '0', ...extra]);
  const url = await waitFor(() => /listening on (ws:\/\/\S+)/.exec(r.stdout())?.[1] ?? /"url":"(ws:\/\/[^"]+)"/.exec(r.stdout())?.[1], `listening line (stderr: ${r.stderr()})`);
  return { run: r, url };
}

async function wsEcho(url: string, texts: string[]): Promise<{ extensions: string; echoed: string[] }> {
  const ws = new WebSocket(url); // ws offers permessage-deflate by default
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const echoed: string[] = [];
  for (const text of texts) {
    const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send(text);
    echoed.push(await reply);
  }
  const extensions = ws.extensions;
  ws.close(1000);
  return { extensions, echoed };
}

describe('wsinspect with permessage-deflate', () => {
  it('serve --trace jsonl: the offer and the agreement, and each compressed message in both forms', async () => {
    const { run: serve, url } = await startServe(['--trace', 'jsonl']);
    const { extensions, echoed } = await wsEcho(url, ['Hello', 'Hello']);
    expect(extensions).toBe('permessage-deflate');
    expect(echoed).toEqual(['Hello', 'Hello']);
    await waitFor(() => serve.stdout().includes('"connection-closed"'), 'connection-closed');
    const events = serve.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const handshake = events.find((e) => e['type'] === 'handshake')!;
    expect(handshake['extensions']['offered']).toBe('permessage-deflate; client_max_window_bits');
    expect(handshake['extensions']['agreed']['name']).toBe('permessage-deflate');
    const out = events.filter((e) => e['type'] === 'message' && e['direction'] === 'out');
    // RFC 7692 §7.2.3.1 and §7.2.3.2: our server's two "Hello"s, the second using the first's window.
    expect(out.map((m) => m['compression']['compressed']['hex'])).toEqual(['f248cdc9c90700', 'f200110000']);
    expect(out.map((m) => m['compression']['contextTakeover'])).toEqual([false, true]);
    const inFrames = events.filter((e) => e['type'] === 'frame' && e['direction'] === 'in' && e['frame']['opcode'] === 1);
    expect(inFrames.every((f) => f['frame']['rsv1'] === true && f['frame']['deflate']['inflated']['hex'] === Buffer.from('Hello').toString('hex'))).toBe(true);
  });

  it('connect (pretty): RSV1 read as the compressed bit, the DEFLATE bytes, the tail and the plain text', async () => {
    const { url } = await startServe(['--trace', 'none']);
    const r = run(['connect', url, '--send', 'Hello', '--wait', '300']);
    expect(await r.exit).toBe(0);
    const text = r.stdout();
    expect(text).toContain('Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits');
    expect(text).toContain('✓ offer 1: permessage-deflate; client_max_window_bits — accepted');
    expect(text).toContain('RSV1=compressed (permessage-deflate)');
    expect(text).toMatch(/deflate f2 48 cd c9 c9 07 00 \(7 compressed bytes, unmasked\)/);
    expect(text).toContain('00 00 ff ff stripped from the end before sending (RFC 7692 §7.2.1)');
    expect(text).toContain('00 00 ff ff appended before inflating (RFC 7692 §7.2.2)');
    expect(text).toMatch(/plain {3}"Hello" \(5 bytes inflated\)/);
  });

  it('--no-deflate: connect offers nothing, serve declines every offer', async () => {
    const { url } = await startServe(['--trace', 'none', '--no-deflate']);
    const { extensions, echoed } = await wsEcho(url, ['plain']);
    expect(extensions).toBe('');
    expect(echoed).toEqual(['plain']);
    const r = run(['connect', url, '--send', 'Hello', '--wait', '300', '--no-deflate']);
    expect(await r.exit).toBe(0);
    expect(r.stdout()).not.toContain('Sec-WebSocket-Extensions');
    expect(r.stdout()).not.toContain('RSV1=compressed');
    expect(r.stdout()).not.toMatch(/RSV1-3=1/);
    expect(r.stdout()).toMatch(/RSV1-3=000 opcode=0x1/);
    expect(r.stdout()).toContain('message text 5 bytes: "Hello"');
  });
});
