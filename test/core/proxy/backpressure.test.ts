/**
 * Backpressure through the proxy: a client that stops reading while the upstream floods it must
 * stop the proxy reading from the upstream (its socket paused), and what the proxy holds for the
 * client stays bounded; once the client reads again, everything arrives.
 */

import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Defaults } from '../../../src/core/constants.ts';
import { eventually, MiB, withTimeout } from '../net/helpers.ts';
import { closeAll, startProxy, wsUpstream, type StartedProxy, type Upstream } from './proxy-peers.ts';

let proxy: StartedProxy | null = null;
let upstream: Upstream | null = null;
afterEach(async () => {
  await closeAll(proxy, upstream);
  [proxy, upstream] = [null, null];
});

const MESSAGE = 256 * 1024;
const COUNT = 160; // 40 MiB in all

/** A raw client: handshake, then it reads only when told to; counts the bytes after the 101. */
async function slowClient(port: number): Promise<{ socket: Socket; bytes: () => number }> {
  const socket = connect({ port, host: '127.0.0.1' });
  let head = '';
  let after = 0;
  await withTimeout(new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    socket.on('data', (d: Buffer) => {
      if (!head.includes('\r\n\r\n')) {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end >= 0) {
          after += Buffer.byteLength(head.slice(end + 4), 'latin1');
          socket.pause(); // stop reading: the proxy's writes to us back up
          resolve();
        }
      } else after += d.length;
    });
  }), 5000, 'the 101');
  return { socket, bytes: () => after };
}

describe('reverse proxy backpressure', () => {
  it('a client that does not read pauses the upstream leg; what waits for the client stays bounded; then everything arrives', async () => {
    upstream = await wsUpstream({ silent: true });
    let sent = 0;
    proxy = await startProxy({ target: upstream.url, clientDeflate: false, upstreamDeflate: false });
    const client = await slowClient(Number(new URL(proxy.url).port));
    await eventually(() => upstream!.sockets.length === 1, 5000, 'the upstream connection');
    const ws = upstream.sockets[0]!;
    const chunk = Buffer.alloc(MESSAGE, 0x61);
    // The upstream floods as fast as the proxy takes it (its own buffer kept under 2 MiB).
    const flood = setInterval(() => {
      while (sent < COUNT && ws.bufferedAmount < 2 * MiB) {
        ws.send(chunk, { binary: true });
        sent++;
      }
    }, 2);
    try {
      const conversation = [...proxy.proxy.conversations][0]!;
      let maxHeld = 0;
      const sample = setInterval(() => (maxHeld = Math.max(maxHeld, conversation.client?.bufferedAmount ?? 0)), 5);
      await eventually(() => conversation.upstream?.readingPaused === true, 5000, 'the proxy to stop reading from the upstream');
      // Give the flood time: if nothing pushed back, it would all be sent by now.
      await new Promise((r) => setTimeout(r, 500));
      clearInterval(sample);
      expect(conversation.upstream!.readingPaused).toBe(true);
      expect(sent).toBeLessThan(COUNT);
      // Held for the client: at most the write mark plus what one read from the upstream completed.
      expect(maxHeld).toBeLessThanOrEqual(Defaults.writeHighWaterMark + 2 * MESSAGE + 64 * 1024);
      expect(proxy.events.some((e) => e.type === 'note' && e.text.startsWith('Backpressure:') && e.text.includes('reading from this leg paused'))).toBe(true);
      // The client reads again: the whole flood arrives (each message has a 10-byte header: 2 bytes and a 64-bit length, §5.2).
      client.socket.resume();
      await eventually(() => client.bytes() >= COUNT * (MESSAGE + 10), 20_000, `all ${COUNT} messages to reach the client`);
      expect(sent).toBe(COUNT);
    } finally {
      clearInterval(flood);
      client.socket.destroy();
    }
    await proxy.allFreed();
  });
});
