/**
 * A scripted conversation between our client and server, sans-I/O with fixed masking keys, for
 * tests that compare two ways of listening to the same trace (objects, TraceLog rows, a batch
 * builder's rows): every run traces exactly the same events.
 */
import { Opcode } from '../../src/core/constants.ts';
import { WebSocketProtocol } from '../../src/core/protocol.ts';
import { INLINE_MAX } from '../../src/core/trace-log.ts';
import { Tracer } from '../../src/core/trace.ts';

/**
 * Frames of every length encoding, masked and not; text (one starting with a BOM); a fragmented
 * message; a ping between two fragments (frame ids not consecutive); a crafted frame whose 7-bit
 * length field does not say its payload's length, and two whose mask bit lies (never delivered); a close. Traced into a fresh
 * tracer that `listen` subscribes to first; traceBytes: raw chunks too.
 */
export function converse(listen: (tracer: Tracer) => void, options: { traceBytes?: boolean } = {}): void {
  const traceBytes = options.traceBytes ?? false;
  const tracer = new Tracer();
  listen(tracer);
  let key = 0;
  const maskKeyGenerator = () => Uint8Array.of(key++ & 0xff, 0x5a, 0xa5, 0x3c);
  const server = new WebSocketProtocol({ role: 'server', deflate: false, trace: tracer.forConnection('s'), traceBytes });
  const client = new WebSocketProtocol({ role: 'client', deflate: false, trace: tracer.forConnection('c'), traceBytes, maskKeyGenerator, key: 'dGhlIHNhbXBsZSBub25jZQ==' });
  const move = (from: WebSocketProtocol, to: WebSocketProtocol) => {
    for (const b of from.dataToSend()) to.receiveData(Uint8Array.from(b), true);
  };
  const echo = () => {
    move(client, server);
    for (const e of server.events()) if (e.type === 'message') server.sendFragmented(e.opcode, e.data, []);
    move(server, client);
    client.events();
  };
  client.connect();
  echo();
  for (const n of [0, 1, 125, 126, 65535, 65536, INLINE_MAX + 1]) {
    client.sendBinary(Uint8Array.from({ length: n }, (_, i) => (i * 13 + n) & 0xff));
    echo();
  }
  client.sendText('héllo ✓');
  client.sendText('\uFEFFa BOM first');
  client.sendFragmented(Opcode.Text, new TextEncoder().encode('Hello, fragments'), [3, 2, 5]);
  echo();
  client.sendFrame({ opcode: Opcode.Text, fin: false, payload: new TextEncoder().encode('split ') });
  client.sendPing(Uint8Array.of(1, 2, 3));
  client.sendFrame({ opcode: Opcode.Continuation, fin: true, payload: new TextEncoder().encode('by a ping') });
  echo();
  client.sendFrame({ opcode: Opcode.Binary, payload: new Uint8Array(200), lengthEncoding: '7-bit' });
  // Masked with a key but the mask bit cleared, and the bit set with no key (fault injection): their
  // payloads are not what the wire bytes say (never delivered either).
  client.sendFrame({ opcode: Opcode.Binary, payload: Uint8Array.of(1, 2, 3, 4, 5), maskBitOverride: false });
  client.sendFrame({ opcode: Opcode.Binary, payload: Uint8Array.of(6, 7, 8), maskKey: null, maskBitOverride: true });
  client.dataToSend();
  client.close(1000, 'bye');
  move(client, server);
  server.events();
  move(server, client);
  client.events();
}

/** Plain objects with plain byte arrays (a node Buffer and a Uint8Array with the same bytes read the same). */
export function normal(value: unknown): unknown {
  if (value instanceof Uint8Array) return { hex: Buffer.from(value.buffer, value.byteOffset, value.length).toString('hex') };
  if (Array.isArray(value)) return value.map(normal);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normal(v)]));
  return value;
}
