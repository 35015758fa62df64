/**
 * A socket's stream with bytes already read put back in front. node:tls, given a net.Socket,
 * reads from its handle directly and would never see bytes that were read (or unshifted) in
 * JavaScript; given this Duplex instead, it reads `first`, then whatever the socket receives.
 * Writes, ends and backpressure go through to the socket.
 */

import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export function withBytesInFront(socket: Socket, first: Uint8Array): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (socket.destroyed) return callback(new Error('the socket is closed'));
      if (socket.write(chunk)) callback();
      else socket.once('drain', () => callback());
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  if (first.length) stream.push(Buffer.from(first));
  socket.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.once('end', () => stream.push(null));
  socket.once('close', () => stream.destroy());
  socket.on('error', (error) => stream.destroy(error));
  return stream;
}
