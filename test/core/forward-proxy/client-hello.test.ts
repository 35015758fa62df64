import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientHelloReader, MAX_HELLO_BYTES, readClientHello } from '../../../src/core/forward-proxy/client-hello.ts';

/** The first bytes node:tls sends (a real ClientHello), caught by a plain TCP listener that never answers. */
async function captureClientHello(options: ConnectionOptions): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (socket) => {
      let bytes = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        bytes = Buffer.concat([bytes, d]);
        // Whole once the record lengths add up (the client then waits for our answer).
        if (readClientHello(bytes).kind !== 'need-more') {
          socket.destroy();
          resolve(bytes);
        }
      });
    });
  });
  const client = tlsConnect({ host: '127.0.0.1', port, ...options });
  client.on('error', () => {});
  const bytes = await got;
  client.destroy();
  server.close();
  return bytes;
}

describe('ClientHello reader (RFC 6066 §3 server_name, RFC 7301 ALPN)', () => {
  it('finds the SNI and ALPN in a real node:tls ClientHello (TLS 1.3)', async () => {
    const bytes = await captureClientHello({ servername: 'echo.example.org', ALPNProtocols: ['http/1.1'] });
    expect(bytes[0]).toBe(0x16);
    const result = readClientHello(bytes);
    expect(result).toEqual({ kind: 'hello', hello: { serverName: 'echo.example.org', alpn: ['http/1.1'], version: 'TLS 1.3' } });
  });

  it('has no SNI when the client sent none (an IP address, RFC 6066 §3 forbids literals)', async () => {
    const bytes = await captureClientHello({ ALPNProtocols: ['h2', 'http/1.1'] });
    const result = readClientHello(bytes);
    expect(result.kind).toBe('hello');
    if (result.kind === 'hello') {
      expect(result.hello.serverName).toBeNull();
      expect(result.hello.alpn).toEqual(['h2', 'http/1.1']);
    }
  });

  it('a TLS 1.2-only client is read as TLS 1.2', async () => {
    const bytes = await captureClientHello({ servername: 'a.test', maxVersion: 'TLSv1.2' });
    const result = readClientHello(bytes);
    expect(result.kind === 'hello' && result.hello).toMatchObject({ serverName: 'a.test', version: 'TLS 1.2' });
  });

  it('gets the same answer one byte at a time, and asks for more until the hello is whole', async () => {
    const bytes = await captureClientHello({ servername: 'bytes.example', ALPNProtocols: ['http/1.1'] });
    const reader = new ClientHelloReader();
    for (let i = 0; i < bytes.length - 1; i++) expect(reader.feed(bytes.subarray(i, i + 1)).kind).toBe('need-more');
    const last = reader.feed(bytes.subarray(bytes.length - 1));
    expect(last.kind === 'hello' && last.hello.serverName).toBe('bytes.example');
  });

  it('reads a ClientHello split over two records (RFC 8446 §5.1 allows fragmenting handshake messages)', async () => {
    const bytes = await captureClientHello({ servername: 'split.example' });
    const fragment = bytes.subarray(5, 5 + ((bytes[3]! << 8) | bytes[4]!));
    const cut = 40;
    const record = (part: Uint8Array) => Buffer.concat([Buffer.from([0x16, 3, 1, part.length >> 8, part.length & 0xff]), part]);
    const twoRecords = Buffer.concat([record(fragment.subarray(0, cut)), record(fragment.subarray(cut))]);
    const result = readClientHello(twoRecords);
    expect(result.kind === 'hello' && result.hello.serverName).toBe('split.example');
  });

  it.each([
    ['plain HTTP', Buffer.from('GET / HTTP/1.1\r\n\r\n'), /first byte is 0x47/],
    ['an SSH banner', Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), /not 0x16/],
    ['a record that is not TLS 3.x', Buffer.from([0x16, 9, 9, 0, 5, 1, 0, 0, 1, 0]), /not TLS/],
    ['a zero-length record', Buffer.from([0x16, 3, 1, 0, 0]), /out of range/],
    ['a ServerHello instead', Buffer.from([0x16, 3, 3, 0, 4, 2, 0, 0, 0]), /not ClientHello/],
    ['a hello shorter than its random', Buffer.from([0x16, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0]), /ends inside its version and random/],
  ])('%s is not a ClientHello, with the reason', (_name, bytes, reason) => {
    const result = readClientHello(bytes);
    expect(result.kind).toBe('not-client-hello');
    if (result.kind === 'not-client-hello') expect(result.reason).toMatch(reason);
  });

  it('a hostile server_name is shown escaped and flagged', async () => {
    const bytes = await captureClientHello({ servername: 'good.example' });
    // Replace the name's bytes in place with control characters of the same length.
    const at = bytes.indexOf('good.example');
    bytes.set(Buffer.from('\x1b[2Jx\n.examp'), at);
    const result = readClientHello(bytes);
    expect(result.kind === 'hello' && result.hello).toMatchObject({ serverName: '\\x1b[2Jx\\x0a.examp', serverNameProblem: expect.stringMatching(/not letters/) });
  });

  it('stops collecting at MAX_HELLO_BYTES: an endless "record" is refused, bounded', () => {
    const reader = new ClientHelloReader();
    // A handshake header announcing a huge ClientHello, then records that never complete it.
    const header = Buffer.from([0x16, 3, 1, 0x40, 0x00, 1, 0xff, 0xff, 0xff]);
    const result = reader.feed(header);
    expect(result.kind).toBe('need-more');
    let last = result;
    for (let i = 0; i < 10 && last.kind === 'need-more'; i++) last = reader.feed(Buffer.alloc(16_384, 0));
    expect(last.kind).toBe('not-client-hello');
    expect(reader.received).toBeLessThanOrEqual(MAX_HELLO_BYTES + 5);
  });

  it('refuses a ClientHello cut into more than 16 tiny records (reassembly stays linear)', () => {
    const body = [1, 0, 0x10, 0, ...Array<number>(16).fill(3)]; // a ClientHello of 4096 bytes, one byte a record
    const records = Buffer.concat(body.map((b) => Buffer.from([0x16, 3, 1, 0, 1, b])));
    const result = readClientHello(records);
    expect(result.kind === 'not-client-hello' && result.reason).toMatch(/after 16 records/);
  });

  it('never throws on random bytes or on mutations of a real ClientHello (fuzz)', async () => {
    const real = await captureClientHello({ servername: 'fuzz.example', ALPNProtocols: ['http/1.1'] });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      const r = readClientHello(bytes);
      expect(['need-more', 'hello', 'not-client-hello']).toContain(r.kind);
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(real.length), (edits, cut) => {
      const mutated = Buffer.from(real);
      for (const [at, value] of edits) mutated[at] = value;
      const r = readClientHello(mutated.subarray(0, cut));
      expect(['need-more', 'hello', 'not-client-hello']).toContain(r.kind);
    }), { numRuns: 3000 });
  });
});
