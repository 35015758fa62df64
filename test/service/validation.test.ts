/**
 * The shape checks every renderer request goes through (IPC and the web bridge).
 */
import { describe, expect, it } from 'vitest';
import { validateApp, validateConnect, validateSend, validateStartServer } from '../../src/service/validation.ts';

describe('validateStartServer', () => {
  it.each([
    [{}, {}],
    [{ port: 0 }, { port: 0 }],
    [{ port: 9001, host: '127.0.0.1' }, { port: 9001, host: '127.0.0.1' }],
    [{ host: '0.0.0.0', port: 8080, app: 'chat' }, { host: '0.0.0.0', port: 8080, app: 'chat' }],
    [{ app: 'manual' }, { app: 'manual' }],
    // Unknown keys are dropped, not passed on.
    [{ port: 1, extra: 'ignored', __proto__x: 1 }, { port: 1 }],
  ])('accepts %j', (input, expected) => {
    expect(validateStartServer(input)).toEqual(expected);
  });

  it.each([
    [null, /expects an object/],
    [undefined, /expects an object/],
    ['9001', /expects an object/],
    [9001, /expects an object/],
    [[9001], /expects an object/],
    [{ port: '9001' }, /port must be a whole number/],
    [{ port: 90.5 }, /port must be a whole number/],
    [{ port: Number.NaN }, /port must be a whole number/],
    [{ port: Number.POSITIVE_INFINITY }, /port must be a whole number/],
    [{ port: null }, /port must be a whole number/],
    [{ host: 127 }, /host must be a string/],
    [{ host: ['127.0.0.1'] }, /host must be a string/],
    [{ app: 'ratchet' }, /app must be one of echo, chat, manual/],
    [{ app: 1 }, /app must be one of/],
  ])('rejects %j', (input, message) => {
    expect(() => validateStartServer(input)).toThrow(message);
  });
});

describe('validateStartServer: maxConnections and idleTimeoutMs', () => {
  it.each([
    [{ maxConnections: 1 }, { maxConnections: 1 }],
    [{ maxConnections: 1_000_000, idleTimeoutMs: 86_400_000 }, { maxConnections: 1_000_000, idleTimeoutMs: 86_400_000 }],
    [{ port: 0, idleTimeoutMs: 30_000 }, { port: 0, idleTimeoutMs: 30_000 }],
    [{ maxMessageSize: 1024 }, { maxMessageSize: 1024 }],
  ])('accepts %j', (input, expected) => {
    expect(validateStartServer(input)).toEqual(expected);
  });

  it.each([
    [{ maxConnections: 0 }, /maxConnections must be a whole number from 1 to 1000000, or left out for none \(got 0\)/],
    [{ maxConnections: 1_000_001 }, /maxConnections must be a whole number from 1 to 1000000/],
    [{ maxConnections: 2.5 }, /maxConnections must be a whole number/],
    [{ maxConnections: '10' }, /maxConnections must be a whole number .*\(got "10"\)/],
    [{ maxConnections: null }, /maxConnections must be a whole number .*\(got null\)/],
    [{ maxConnections: Number.NaN }, /maxConnections must be a whole number/],
    [{ idleTimeoutMs: -1 }, /idleTimeoutMs must be a whole number from 1 to 86400000/],
    [{ idleTimeoutMs: 0 }, /idleTimeoutMs must be a whole number from 1 to 86400000/],
    [{ idleTimeoutMs: 86_400_001 }, /idleTimeoutMs must be a whole number from 1 to 86400000/],
    [{ idleTimeoutMs: Number.POSITIVE_INFINITY }, /idleTimeoutMs must be a whole number/],
    [{ idleTimeoutMs: [1000] }, /idleTimeoutMs must be a whole number/],
    [{ maxMessageSize: 0 }, /maxMessageSize must be a whole number from 1 to 2147483648/],
    [{ maxMessageSize: 2 ** 31 + 1 }, /maxMessageSize must be a whole number/],
    [{ maxMessageSize: '1024' }, /maxMessageSize must be a whole number/],
  ])('rejects %j', (input, message) => {
    expect(() => validateStartServer(input)).toThrow(message);
  });
});

describe('validateStartServer: allowedOrigins', () => {
  it.each([
    [{ allowedOrigins: [] }, { allowedOrigins: [] }],
    [{ allowedOrigins: ['http://127.0.0.1:5173', 'null'] }, { allowedOrigins: ['http://127.0.0.1:5173', 'null'] }],
    [{ port: 0, allowedOrigins: ['app://x'] }, { port: 0, allowedOrigins: ['app://x'] }],
  ])('accepts %j', (input, expected) => {
    expect(validateStartServer(input)).toEqual(expected);
  });

  it.each([
    [{ allowedOrigins: 'http://x' }],
    [{ allowedOrigins: [1] }],
    [{ allowedOrigins: [null] }],
    [{ allowedOrigins: { 0: 'http://x' } }],
    [{ allowedOrigins: null }],
  ])('rejects %j', (input) => {
    expect(() => validateStartServer(input)).toThrow(/allowedOrigins must be an array of strings/);
  });

  it('copies the array (a later change by the caller does not reach the service)', () => {
    const origins = ['http://a.example'];
    const out = validateStartServer({ allowedOrigins: origins });
    origins.push('http://b.example');
    expect(out.allowedOrigins).toEqual(['http://a.example']);
  });
});

describe('validateApp', () => {
  it.each(['echo', 'chat', 'manual'])('accepts %s', (app) => {
    expect(validateApp(app)).toBe(app);
  });

  it.each([[''], ['Echo'], ['ECHO'], ['broadcast'], [null], [undefined], [0], [{ app: 'echo' }], [['echo']]])('rejects %j', (input) => {
    expect(() => validateApp(input)).toThrow(/app must be one of echo, chat, manual/);
  });
});

describe('validateConnect', () => {
  it.each([
    [{ url: 'ws://127.0.0.1:9001/' }],
    [{ url: '' }], // the shape is fine; the URL check belongs to the client, with a plain message
    [{ url: 'ws://h/', subprotocols: ['chat', 'superchat'] }],
    [{ url: 'ws://h/', subprotocols: [] }],
    [{ url: 'ws://h/', headers: ['Origin: http://x', 'X-A: b'] }],
    [{ url: 'ws://h/', subprotocols: ['a'], headers: [] }],
  ])('accepts %j', (input) => {
    expect(validateConnect(input)).toEqual(input);
  });

  it.each([
    [null, /expects \{ url: string \}/],
    ['ws://h/', /expects \{ url: string \}/],
    [{}, /expects \{ url: string \}/],
    [{ url: 42 }, /expects \{ url: string \}/],
    [{ url: null }, /expects \{ url: string \}/],
    [[{ url: 'ws://h/' }], /expects \{ url: string \}/],
    [{ url: 'ws://h/', subprotocols: 'chat' }, /subprotocols must be strings/],
    [{ url: 'ws://h/', subprotocols: ['chat', 1] }, /subprotocols must be strings/],
    [{ url: 'ws://h/', headers: 'X-A: b' }, /headers must be strings/],
    [{ url: 'ws://h/', headers: [{ name: 'X-A', value: 'b' }] }, /headers must be strings/],
    // Issue 10 §2: these crashed the process when the socket connected; now refused here.
    [{ url: 'ws://h/', subprotocols: ['a b'] }, /"a b" is not a valid subprotocol/],
    [{ url: 'ws://h/', subprotocols: [''] }, /cannot be empty/],
    [{ url: 'ws://h/', subprotocols: ['chat', 'chat'] }, /offered twice/],
    [{ url: 'ws://h/', headers: ['Bad Name: x'] }, /"Bad Name" is not a valid header name/],
    [{ url: 'ws://h/', headers: ['no colon'] }, /Name: value/],
    [{ url: 'ws://h/', headers: ['X: a\r\nInjected: 1'] }, /contains a CR/],
    [{ url: 'ws://h/', headers: ['X: a\nb'] }, /contains an LF/],
    [{ url: 'ws://h/', headers: ['X: a\0b'] }, /contains a NUL/],
    [{ url: 'ws://h/', policy: 'lenient' }, /policy is strict or observe/],
  ])('rejects %j', (input, message) => {
    expect(() => validateConnect(input)).toThrow(message);
  });

  it('skips blank header lines, keeps only known keys, and copies the arrays', () => {
    const headers = ['', 'X-A: b'];
    const out = validateConnect({ url: 'ws://h/', headers, extra: 'dropped', policy: 'observe' });
    expect(out).toEqual({ url: 'ws://h/', headers: ['', 'X-A: b'], policy: 'observe' });
    headers.push('X-Late: 1');
    expect(out.headers).toEqual(['', 'X-A: b']);
  });
});

describe('validateStartServer: host syntax and port range (issue 10 §2)', () => {
  it.each([[{ host: '' }], [{ host: '::1' }], [{ host: '[::1]' }], [{ host: 'localhost' }], [{ port: 65535 }]])('accepts %j', (input) => {
    expect(validateStartServer(input)).toEqual(input);
  });

  it.each([
    [{ host: 'bad host' }, /"bad host" is not an IP address or a hostname/],
    [{ host: 'a/b' }, /not an IP address or a hostname/],
    [{ port: -1 }, /0 to 65535/],
    [{ port: 65536 }, /0 to 65535/],
    [{ app: '__proto__' }, /app must be one of/],
    [{ app: 'constructor' }, /app must be one of/],
  ])('rejects %j', (input, message) => {
    expect(() => validateStartServer(input)).toThrow(message);
  });
});

describe('validateSend', () => {
  const id = 'server1:1';
  it.each([
    [{ connectionId: id, kind: 'text', text: 'hi' }],
    [{ connectionId: id, kind: 'text', text: '' }],
    [{ connectionId: id, kind: 'text', text: 'Hello', fragments: [3, 2] }],
    [{ connectionId: id, kind: 'text', text: 'Hello', fragments: [] }],
    [{ connectionId: id, kind: 'binary', hex: '00ff' }],
    [{ connectionId: id, kind: 'binary', hex: '00 ff 10', fragments: [1, 1, 1] }],
    [{ connectionId: id, kind: 'ping' }],
    [{ connectionId: id, kind: 'ping', text: 'x' }],
    [{ connectionId: id, kind: 'pong' }],
    [{ connectionId: id, kind: 'pong', text: '' }],
    [{ connectionId: id, kind: 'close' }],
    [{ connectionId: id, kind: 'close', code: 1000 }],
    [{ connectionId: id, kind: 'close', code: null }],
    [{ connectionId: id, kind: 'close', code: 4000, reason: 'bye' }],
  ])('accepts %j', (input) => {
    expect(validateSend(input)).toEqual(input);
  });

  it.each([
    [null, /expects \{ connectionId, kind \}/],
    ['text', /expects \{ connectionId, kind \}/],
    [[], /expects \{ connectionId, kind \}/],
    [{ kind: 'text', text: 'hi' }, /expects \{ connectionId, kind \}/],
    [{ connectionId: 7, kind: 'text', text: 'hi' }, /expects \{ connectionId, kind \}/],
    [{ connectionId: id }, /bad request for kind undefined/],
    [{ connectionId: id, kind: 'shout', text: 'hi' }, /bad request for kind shout/],
    [{ connectionId: id, kind: 'TEXT', text: 'hi' }, /bad request for kind TEXT/],
    [{ connectionId: id, kind: 'text' }, /bad request for kind text/],
    [{ connectionId: id, kind: 'text', text: 42 }, /bad request for kind text/],
    [{ connectionId: id, kind: 'text', text: new Uint8Array([104, 105]) }, /bad request for kind text/],
    [{ connectionId: id, kind: 'binary' }, /bad request for kind binary/],
    [{ connectionId: id, kind: 'binary', hex: [0, 255] }, /bad request for kind binary/],
    [{ connectionId: id, kind: 'binary', text: '00ff' }, /bad request for kind binary/],
    [{ connectionId: id, kind: 'ping', text: 5 }, /bad request for kind ping/],
    [{ connectionId: id, kind: 'pong', text: null }, /bad request for kind pong/],
    [{ connectionId: id, kind: 'close', code: '1000' }, /bad request for kind close/],
    [{ connectionId: id, kind: 'close', code: 1000.5 }, /bad request for kind close/],
    [{ connectionId: id, kind: 'close', code: 1000, reason: 7 }, /bad request for kind close/],
    [{ connectionId: id, kind: 'text', text: 'Hello', fragments: [1.5, 2] }, /fragments must be whole numbers/],
    [{ connectionId: id, kind: 'text', text: 'Hello', fragments: ['3', '2'] }, /fragments must be whole numbers/],
    [{ connectionId: id, kind: 'text', text: 'Hello', fragments: 3 }, /fragments must be whole numbers/],
    [{ connectionId: id, kind: 'binary', hex: '00', fragments: [Number.NaN] }, /fragments must be whole numbers/],
    [{ connectionId: id, kind: 'binary', hex: '00', fragments: [null] }, /fragments must be whole numbers/],
  ])('rejects %j', (input, message) => {
    expect(() => validateSend(input)).toThrow(message);
  });
});

describe('deflate (permessage-deflate on or off) on start and connect requests', () => {
  it.each([
    [{ deflate: false }, { deflate: false }],
    [{ deflate: true }, { deflate: true }],
    [{}, {}],
  ])('validateStartServer accepts %j', (input, expected) => {
    expect(validateStartServer(input)).toEqual(expected);
  });

  it.each([[{ deflate: 'false' }], [{ deflate: 0 }], [{ deflate: null }], [{ deflate: { serverMaxWindowBits: 8 } }], [{ deflate: [false] }]])('rejects %j on both', (input) => {
    expect(() => validateStartServer(input)).toThrow(/deflate must be true or false/);
    expect(() => validateConnect({ url: 'ws://127.0.0.1:9/', ...input })).toThrow(/deflate must be true or false/);
  });

  it('validateConnect keeps deflate: false', () => {
    expect(validateConnect({ url: 'ws://127.0.0.1:9/', deflate: false })).toEqual({ url: 'ws://127.0.0.1:9/', deflate: false });
  });
});
