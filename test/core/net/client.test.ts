/**
 * connectClient with options that cannot be sent: refused before any socket opens, and a failure
 * when the handshake starts becomes a rejected `opened` and a destroyed socket, never an exception
 * thrown out of the socket's callback (which would end the process: the web host, Electron's main).
 * And a user header that names a generated one replaces it, end to end.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { HandshakeOptionError } from '../../../src/core/http-tokens.ts';
import { headerValues } from '../../../src/core/http.ts';
import { connectClient, ConnectError } from '../../../src/core/net/client.ts';
import type { Connection } from '../../../src/core/net/connection.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { eventually, withTimeout } from './helpers.ts';

const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A plain TCP listener that records what each client sends. */
async function recorder(): Promise<{ port: number; sockets: Socket[]; received: () => number; server: Server }> {
  const sockets: Socket[] = [];
  let bytes = 0;
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (d) => (bytes += d.length));
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as AddressInfo).port, sockets, received: () => bytes, server };
}

describe('connectClient refuses what cannot be sent, before opening a socket', () => {
  it.each([
    [{ subprotocols: ['a b'] }, /not a valid subprotocol/],
    [{ subprotocols: [''] }, /cannot be empty/],
    [{ headers: [{ name: 'Bad Name', value: 'x' }] }, /not a valid header name/],
    [{ headers: [{ name: 'X', value: 'a\r\nInjected: 1' }] }, /contains a CR/],
    [{ headers: [{ name: 'X', value: 'a\nb' }] }, /contains an LF/],
    [{ headers: [{ name: 'X', value: 'a\0b' }] }, /contains a NUL/],
  ])('%j', async (options, message) => {
    const target = await recorder();
    expect(() => connectClient(`ws://127.0.0.1:${target.port}/`, {}, options)).toThrow(HandshakeOptionError);
    expect(() => connectClient(`ws://127.0.0.1:${target.port}/`, {}, options)).toThrow(message);
    // Give a connect that should not have happened the time to arrive.
    await new Promise((r) => setTimeout(r, 100));
    expect(target.sockets).toHaveLength(0);
  });
});

describe('connectClient refuses permessage-deflate options it cannot honour, before opening a socket', () => {
  it.each([
    [{ deflate: { serverMaxWindowBits: 7 } }, /serverMaxWindowBits must be an integer from 8 to 15/],
    [{ deflate: { clientMaxWindowBits: 16 } }, /clientMaxWindowBits must be an integer from 8 to 15/],
    [{ deflate: { level: 12 } }, /level must be -1\.\.9/],
    [{ deflate: [] }, /at least one/],
  ])('%j', async (options, message) => {
    const target = await recorder();
    expect(() => connectClient(`ws://127.0.0.1:${target.port}/`, {}, options)).toThrow(RangeError);
    expect(() => connectClient(`ws://127.0.0.1:${target.port}/`, {}, options)).toThrow(message);
    await new Promise((r) => setTimeout(r, 100));
    expect(target.sockets).toHaveLength(0);
  });
});

describe('a failure when the handshake starts', () => {
  it('rejects `opened`, destroys the socket and writes nothing (no exception out of the connect callback)', async () => {
    const target = await recorder();
    const headers = [{ name: 'X-Ok', value: 'fine' }];
    const closes: number[] = [];
    const client = connectClient(`ws://127.0.0.1:${target.port}/`, { onClose: (_c, info) => closes.push(info.code) }, { headers });
    // Changed after the check, before the socket connects: the check in buildClientRequest still
    // refuses it, inside the socket's 'connect' callback.
    headers[0]!.value = 'x\r\n\r\nGET /smuggled HTTP/1.1';
    const error = await withTimeout(client.opened.then(() => null, (e: unknown) => e), 5000, 'opened to settle');
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toMatch(/Cannot start the handshake.*contains a CR/);
    await eventually(() => client.connection.socket.destroyed, 2000, 'the socket destroyed');
    await eventually(() => closes.length === 1, 2000, 'onClose');
    // The peer saw the TCP connection open and close, and not one byte.
    await eventually(() => target.sockets.length === 1 && (target.sockets[0]!.destroyed || target.sockets[0]!.readableEnded), 2000, 'the peer to see the close');
    expect(target.received()).toBe(0);
  });
});

describe('a user header that names a generated one replaces it', () => {
  async function echoServer(subprotocols?: string[]) {
    const requests: Array<Connection['protocol']['request']> = [];
    const server = new WebSocketServer({
      host: '127.0.0.1', port: 0, ...(subprotocols ? { subprotocols } : {}),
      component: { ...echoComponent, onOpen: (conn) => requests.push(conn.protocol.request) },
    });
    const { url } = await server.listen();
    cleanup.push(() => server.close());
    return { url, requests };
  }

  it('Sec-WebSocket-Key: the server sees one key, ours, and the client checks the Accept against it (§4.1)', async () => {
    const { url, requests } = await echoServer();
    const client = connectClient(url, {}, { headers: [{ name: 'Sec-WebSocket-Key', value: RFC_KEY }] });
    cleanup.push(() => client.connection.destroy());
    await withTimeout(client.opened, 5000, 'the handshake');
    expect(headerValues(requests[0]!, 'Sec-WebSocket-Key')).toEqual([RFC_KEY]);
    // RFC 6455 §1.3: this key's Accept is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
    expect(headerValues(client.connection.protocol.response!, 'Sec-WebSocket-Accept')).toEqual(['s3pPLMBiTxaQ9kYGzzhZRbK+xOo=']);
  });

  it('Sec-WebSocket-Protocol given as a header counts as offered: the server\'s choice of it is accepted (§4.1)', async () => {
    const { url } = await echoServer(['mqtt']);
    const client = connectClient(url, {}, { headers: [{ name: 'Sec-WebSocket-Protocol', value: 'mqtt' }] });
    cleanup.push(() => client.connection.destroy());
    await withTimeout(client.opened, 5000, 'the handshake');
    expect(client.connection.protocol.subprotocol).toBe('mqtt');
  });
});
