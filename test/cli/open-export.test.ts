/**
 * wsinspect serve|connect --record, open and export, spawned as a user runs them, with the `ws`
 * package as the peer (permessage-deflate on, as ws does by default).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { killRunning, runCli as run, waitFor } from '../support/cli.ts';

afterEach(() => killRunning());
const dir = mkdtempSync(join(tmpdir(), 'wsi-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Event = Record<string, any>;
const jsonl = (text: string): Event[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const messages = (events: Event[]) => events.filter((e) => e.type === 'message').map((e) => [e.direction, e.opcode, e.text ?? e.data.hex]);

async function recordServe(file: string): Promise<void> {
  const serve = run(['serve', '--port', '0', '--trace', 'none', '--record', file]);
  const url = await waitFor(() => /listening on (ws:\/\/\S+)/.exec(serve.stdout())?.[1], `listening (stderr: ${serve.stderr()})`);
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const got: string[] = [];
  ws.on('message', (d, binary) => got.push(binary ? Buffer.from(d as Buffer).toString('hex') : d.toString()));
  ws.send('hello ✓');
  ws.send(Buffer.from([0, 1, 2, 255]));
  ws.send('frag', { fin: false });
  ws.send('mented', { fin: true });
  ws.ping('p');
  await waitFor(() => got.length === 3, 'three echoes');
  ws.close(1000, 'bye');
  await new Promise((resolve) => ws.once('close', resolve));
  serve.child.kill('SIGTERM');
  expect(await serve.exit).toBe(0);
}

describe('wsinspect --record, open, export', () => {
  it('serve --record → open prints the session as live; export har → open; export pcapng and json', async () => {
    const file = join(dir, 'serve.wsi');
    await recordServe(file);
    const opened = run(['open', file, '--trace', 'jsonl', '--full-payloads']);
    expect(await opened.exit, opened.stderr()).toBe(0);
    const events = jsonl(opened.stdout());
    // Each direction in order (the client does not wait for the echoes, so the two interleave as they may).
    const sent = [[1, 'hello ✓'], [2, '000102ff'], [1, 'fragmented']];
    for (const direction of ['in', 'out']) expect(messages(events).filter(([d]) => d === direction).map(([, o, c]) => [o, c])).toEqual(sent);
    expect(events.filter((e) => e.type === 'frame' && e.frame.rsv1).length).toBeGreaterThan(0); // ws compresses
    expect(events.filter((e) => e.type === 'violation')).toEqual([]);
    expect(events.find((e) => e.type === 'connection-closed')).toMatchObject({ wasClean: true, code: 1000, reason: 'bye' });

    const pretty = run(['open', file]);
    expect(await pretty.exit).toBe(0);
    expect(pretty.stdout()).toMatch(/━━ connection .*recorded as the server/);
    expect(pretty.stdout()).toMatch(/← frame #\d+ PING/);

    const harFile = join(dir, 'serve.har');
    const exported = run(['export', file, '--format', 'har', '-o', harFile]);
    expect(await exported.exit, exported.stderr()).toBe(0);
    const har = JSON.parse(readFileSync(harFile, 'utf8'));
    expect(har.log.entries[0]._resourceType).toBe('websocket');
    const fromHar = run(['open', harFile, '--trace', 'jsonl']);
    expect(await fromHar.exit, fromHar.stderr()).toBe(0);
    // Seen from the client (DevTools' side): out = the client's.
    expect(messages(jsonl(fromHar.stdout()))).toEqual(messages(events).map(([d, o, c]) => [d === 'in' ? 'out' : 'in', o, c]));
    const fromHarPretty = run(['open', harFile]);
    expect(await fromHarPretty.exit).toBe(0);
    expect(fromHarPretty.stdout()).toMatch(/RECONSTRUCTED from a HAR file, not captured/);

    const pcapng = join(dir, 'serve.pcapng');
    expect(await run(['export', file, '--format', 'pcapng', '-o', pcapng]).exit).toBe(0);
    expect(readFileSync(pcapng).readUInt32LE(0)).toBe(0x0a0d0d0a);
    const json = join(dir, 'serve.json');
    expect(await run(['export', file, '--format', 'json', '-o', json]).exit).toBe(0);
    const fromJson = run(['open', json, '--trace', 'jsonl', '--full-payloads']);
    expect(await fromJson.exit).toBe(0);
    expect(jsonl(fromJson.stdout())).toEqual(events);
  }, 30_000);

  it('connect --record records the client side', async () => {
    const serve = run(['serve', '--port', '0', '--trace', 'none']);
    const url = await waitFor(() => /listening on (ws:\/\/\S+)/.exec(serve.stdout())?.[1], 'listening');
    const file = join(dir, 'connect.wsi');
    const connect = run(['connect', url, '--send', 'from the client', '--trace', 'none', '--record', file]);
    expect(await connect.exit, connect.stderr()).toBe(0);
    const opened = run(['open', file, '--trace', 'jsonl']);
    expect(await opened.exit).toBe(0);
    const events = jsonl(opened.stdout());
    expect(events[0]).toMatchObject({ type: 'connection-opened', role: 'client' });
    expect(messages(events)).toEqual([['out', 1, 'from the client'], ['in', 1, 'from the client']]);
  }, 20_000);

  it('proxy --record records both legs of a conversation, each marked with its leg and paired with the other', async () => {
    const upstream = run(['serve', '--port', '0', '--trace', 'none']);
    const target = await waitFor(() => /listening on (ws:\/\/\S+)/.exec(upstream.stdout())?.[1], 'upstream listening');
    const file = join(dir, 'proxy.wsi');
    const proxy = run(['proxy', '--listen', 'ws://127.0.0.1:0/', '--target', target, '--trace', 'none', '--record', file]);
    const url = await waitFor(() => /proxying (ws:\/\/\S+)/.exec(proxy.stdout())?.[1], `proxy listening (stderr: ${proxy.stderr()})`);
    const connect = run(['connect', url, '--send', 'through the proxy', '--trace', 'none']);
    expect(await connect.exit, connect.stderr()).toBe(0);
    proxy.child.kill('SIGTERM');
    await proxy.exit;
    const opened = run(['open', file, '--trace', 'jsonl']);
    expect(await opened.exit, opened.stderr()).toBe(0);
    const events = jsonl(opened.stdout());
    const legs = events.filter((e) => e.type === 'connection-opened').map((e) => [e.connectionId, e.role]);
    expect(legs).toEqual([[legs[0]![0], 'server'], [`${legs[0]![0]}-upstream`, 'client']]);
    for (const [id] of legs) {
      expect(events.filter((e) => e.type === 'message' && e.connectionId === id).map((e) => e.text)).toEqual(['through the proxy', 'through the proxy']);
    }
    expect(readFileSync(file, 'utf8')).toContain(`"proxyLeg":{"leg":"client-facing","pairedWith":"${legs[0]![0]}-upstream"}`);
    // --connection picks connections out of a recording, for export and open alike.
    const upstreamOnly = join(dir, 'upstream.json');
    const picked = run(['export', file, '--format', 'json', '-o', upstreamOnly, '--connection', `${legs[0]![0]}-upstream`]);
    expect(await picked.exit, picked.stderr()).toBe(0);
    const reopened = run(['open', upstreamOnly, '--trace', 'jsonl']);
    expect(await reopened.exit).toBe(0);
    expect(jsonl(reopened.stdout()).filter((e) => e.type === 'connection-opened').map((e) => e.connectionId)).toEqual([`${legs[0]![0]}-upstream`]);
    const unknown = run(['open', file, '--connection', 'nope']);
    expect(await unknown.exit).toBe(2);
    expect(unknown.stderr()).toContain(`--connection "nope": no such connection in the file (it has ${legs[0]![0]}, ${legs[0]![0]}-upstream)`);
  }, 30_000);

  it('bad input: one line and the exit code; a damaged session prints what it read first', async () => {
    const missing = run(['open', join(dir, 'nope.wsi')]);
    expect(await missing.exit).toBe(2);
    expect(missing.stderr()).toMatch(/^wsinspect: cannot read .*nope\.wsi.*: no such file\n$/);
    const garbage = join(dir, 'garbage.bin');
    writeFileSync(garbage, 'hello, I am not a recording');
    const notOurs = run(['open', garbage]);
    expect(await notOurs.exit).toBe(2);
    expect(notOurs.stderr()).toMatch(/is not a wsinspect session .* \(by its first bytes\)\n$/);
    const session = readFileSync(join(dir, 'serve.wsi'), 'utf8').split('\n');
    const damaged = join(dir, 'damaged.wsi');
    writeFileSync(damaged, [...session.slice(0, 5), '{"t":"data","id":', ...session.slice(5)].join('\n'));
    const partial = run(['open', damaged, '--trace', 'jsonl']);
    expect(await partial.exit).toBe(1);
    expect(partial.stderr()).toMatch(/damaged\.wsi: line 6 is not JSON; everything read before it is shown above/);
    expect(jsonl(partial.stdout()).some((e) => e.type === 'http-head')).toBe(true);
    const badFormat = run(['export', damaged, '--format', 'zip', '-o', join(dir, 'x')]);
    expect(await badFormat.exit).toBe(2);
    expect(badFormat.stderr()).toMatch(/--format must be pcapng, har or json \(got "zip"\)/);
    const badCap = run(['serve', '--port', '0', '--record-cap', '10']);
    expect(await badCap.exit).toBe(2);
    expect(badCap.stderr()).toMatch(/--record-cap goes with --record FILE/);
  }, 20_000);
});
