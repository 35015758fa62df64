/**
 * The reverse proxy between python peers (Debian's python3-websockets and python3-aiohttp, run by
 * /usr/bin/python3): a python-websockets client through the proxy to an aiohttp server and to a
 * python-websockets server, with and without permessage-deflate on each leg, and over wss:// on
 * both legs. Each leg's negotiation is asserted from the peer's side; payloads (64 B to 1 MiB, a
 * 3-fragment message) are compared by the python client.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCertificate, localCertificate } from '../../../src/core/net/certificates.ts';
import { eventually, openWs, wsMessages } from '../net/helpers.ts';
import { FIXTURES, parseLastJsonLine, requirePythonWebsockets, runPython, startPythonServer, type PythonServer } from '../net/python-peer.ts';
import { clientLegId, frames, startProxy, type StartedProxy } from './proxy-peers.ts';

const DEFLATE_PEER = `${FIXTURES}deflate_peer.py`;
const TLS_PEER = `${FIXTURES}tls_peer.py`;

let proxy: StartedProxy | null = null;
afterEach(async () => {
  await proxy?.close();
  proxy = null;
});

beforeAll(() => {
  requirePythonWebsockets();
});

for (const lib of ['aiohttp', 'websockets'] as const) {
  describe(`python-websockets client → proxy → ${lib} server`, () => {
    let server: PythonServer;
    beforeAll(async () => {
      server = await startPythonServer([DEFLATE_PEER, 'server', lib]);
    }, 30_000);
    afterAll(async () => {
      await server?.stop();
    });

    if (lib === 'aiohttp') {
      it('a ws client (deflate on) → proxy → aiohttp: text and binary echoed, each leg compressed on its own', async () => {
        proxy = await startProxy({ target: `ws://127.0.0.1:${server.port}/` });
        const ws = await openWs(proxy.url, { perMessageDeflate: true });
        expect(ws.extensions).toMatch(/^permessage-deflate/);
        const messages = wsMessages(ws);
        const text = JSON.stringify(Array.from({ length: 800 }, (_, i) => ({ id: i, ok: i % 2 === 0 })));
        ws.send(text);
        expect((await messages.next(5000)).data.toString()).toBe(text);
        const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
        ws.send(bytes);
        const back = await messages.next(5000);
        expect(back.isBinary && back.data.equals(bytes)).toBe(true);
        const open = server.events.filter((e) => e['event'] === 'open').at(-1)!;
        expect(open['extensions']).toMatch(/^permessage-deflate/);
        ws.close(1000);
        await proxy.allFreed();
      });
    }

    const combos = lib === 'aiohttp' ? [[true, true], [true, false], [false, true], [false, false]] as const : [[true, false]] as const;
    for (const [clientLeg, upstreamLeg] of combos) {
      it(`deflate on the client leg ${clientLeg ? 'on' : 'off'}, on the upstream leg ${upstreamLeg ? 'on' : 'off'}: each leg agrees its own, every payload arrives intact`, async () => {
        proxy = await startProxy({ target: `ws://127.0.0.1:${server.port}/`, ...(clientLeg ? {} : { clientDeflate: false }), ...(upstreamLeg ? {} : { upstreamDeflate: false }) });
        const opens = server.events.filter((e) => e['event'] === 'open').length;
        const run = await runPython([DEFLATE_PEER, 'client', 'websockets', proxy.url], 60_000);
        const result = parseLastJsonLine(run.stdout, run.stderr);
        expect(run.code, run.stderr).toBe(0);
        expect(result['results'].filter((r: { ok: boolean }) => !r.ok)).toEqual([]);
        expect(result['ok']).toBe(true);
        // The client leg: what our server leg answered python.
        if (clientLeg) expect(result['extensions']).toMatch(/^permessage-deflate/);
        else expect(result['extensions']).toBeNull();
        // The upstream leg: what the python server answered our client.
        await eventually(() => server.events.filter((e) => e['event'] === 'open').length > opens, 5000, 'the server to report the connection');
        const open = server.events.filter((e) => e['event'] === 'open').at(-1)!;
        if (upstreamLeg) expect(open['extensions']).toMatch(/^permessage-deflate/);
        else expect(open['extensions'] ?? null).toBeNull();
        // Each leg's trace shows its own bytes: RSV1 on the compressed leg's data frames only.
        const client = clientLegId(proxy.events);
        const clientIn = frames(proxy.events, client, 'in').filter((f) => f.frame.opcode === 1 && f.frame.payloadLength > 1000);
        const upOut = frames(proxy.events, `${client}-upstream`, 'out').filter((f) => f.frame.opcode === 1 && f.frame.relay);
        expect(clientIn.length).toBeGreaterThan(0);
        expect(clientIn.every((f) => f.frame.rsv1 === clientLeg)).toBe(true);
        expect(upOut.length).toBeGreaterThan(0);
        expect(upOut.every((f) => f.frame.rsv1 === upstreamLeg)).toBe(true);
        // The 3-fragment message went upstream in 3 frames, each paired with its original.
        const lastThree = frames(proxy.events, `${client}-upstream`, 'out').filter((f) => f.frame.opcode <= 2).slice(-3);
        expect(lastThree.map((f) => [f.frame.opcode, f.frame.fin])).toEqual([[1, false], [0, false], [0, true]]);
        expect(lastThree.every((f) => f.frame.relay?.from.connectionId === client)).toBe(true);
        await proxy.allFreed();
      }, 60_000);
    }
  });
}

describe('python over wss:// → proxy → python over wss://', () => {
  let dir: string;
  let server: PythonServer;
  let caCert: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsi-proxy-py-tls-'));
    const ca = await createCertificate({ commonName: 'Proxy Test CA', ca: true });
    const leaf = await createCertificate({ commonName: 'localhost', names: ['localhost'], issuer: ca });
    caCert = ca.cert;
    writeFileSync(join(dir, 'up-cert.pem'), leaf.cert);
    writeFileSync(join(dir, 'up-key.pem'), leaf.key);
    server = await startPythonServer([TLS_PEER, 'server', join(dir, 'up-cert.pem'), join(dir, 'up-key.pem'), '--deflate']);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('both legs TLS and compressed: python verifies the proxy\'s certificate, the proxy verifies the upstream\'s (--ca)', async () => {
    const local = await localCertificate(dir);
    proxy = await startProxy({ target: `wss://localhost:${server.port}/up`, tls: local, upstreamTls: { ca: [caCert] } });
    const run = await runPython([TLS_PEER, 'client', proxy.url.replace('127.0.0.1', 'localhost'), local.certPath, '--deflate'], 30_000);
    const result = parseLastJsonLine(run.stdout, run.stderr);
    expect(run.code, run.stderr).toBe(0);
    expect(result).toMatchObject({ ok: true, text: 'héllo over TLS ✓', binary_ok: true, big_ok: true, close_code: 1000 });
    expect(result['extensions']).toMatch(/^permessage-deflate/);
    await eventually(() => server.events.some((e) => e['event'] === 'closed'), 5000, 'the upstream to see the close');
    expect(server.events.find((e) => e['event'] === 'open')).toMatchObject({ path: '/up', sni: 'localhost' });
    expect(server.events.find((e) => e['event'] === 'closed')).toMatchObject({ code: 1000, reason: 'done ✓' });
    const client = clientLegId(proxy.events);
    const tls = proxy.events.filter((e) => e.type === 'tls');
    expect(tls.map((e) => e.connectionId).sort()).toEqual([client, `${client}-upstream`].sort());
    expect(tls.every((e) => e.type === 'tls' && e.tls.ok)).toBe(true);
    await proxy.allFreed();
  }, 60_000);
});
