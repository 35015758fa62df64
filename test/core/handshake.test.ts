import { describe, it, expect } from 'vitest';
import {
  answerClientHandshake, buildClientRequest, checkServerResponse, computeAccept, describeKey, errorResponse, generateKey,
  type ServerHandshakeOptions,
} from '../../src/core/handshake.ts';
import { HttpHeadParser, headerValue, headerValues, parseHead, type HttpHead } from '../../src/core/http.ts';
import { HandshakeError } from '../../src/core/errors.ts';
import { HandshakeOptionError } from '../../src/core/http-tokens.ts';
import { WEBSOCKET_GUID } from '../../src/core/constants.ts';

const ascii = (s: string) => new TextEncoder().encode(s);
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

describe('computeAccept (RFC 6455 §1.3, §4.2.2)', () => {
  it('the GUID is the RFC\'s', () => {
    expect(WEBSOCKET_GUID).toBe('258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
  });

  it('RFC §1.3 example, step by step: concatenation, SHA-1, base64', () => {
    const c = computeAccept(RFC_KEY);
    expect(c.key).toBe(RFC_KEY);
    expect(c.concatenated).toBe('dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
    // RFC 6455 §1.3: "0xb3 0x7a 0x4f 0x2c 0xc0 0x62 0x4f 0x16 0x90 0xf6 0x46 0x06 0xcf 0x38 0x59 0x45 0xb2 0xbe 0xc4 0xea"
    expect(c.sha1Hex).toBe('b37a4f2cc0624f1690f64606cf385945b2bec4ea');
    expect(c.sha1Hex).toHaveLength(40);
    expect(c.accept).toBe(RFC_ACCEPT);
    // The accept is the base64 of exactly those 20 bytes.
    expect(Buffer.from(c.accept, 'base64').toString('hex')).toBe(c.sha1Hex);
  });

  it('second known pair (Wikipedia / MDN example): x3JJHMbDL1EzLkh9GBhXDw== → HSmrc0sMlYUkAGmm5OPpG2HaGWk=', () => {
    expect(computeAccept('x3JJHMbDL1EzLkh9GBhXDw==').accept).toBe('HSmrc0sMlYUkAGmm5OPpG2HaGWk=');
  });
});

describe('generateKey / describeKey (§4.1)', () => {
  it('generates 16 random bytes in base64, fresh each time', () => {
    const a = generateKey();
    const b = generateKey();
    expect(a).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(Buffer.from(a, 'base64')).toHaveLength(16);
    expect(describeKey(a).ok).toBe(true);
    expect(a).not.toBe(b);
  });

  it.each([
    [RFC_KEY, true, 'decodes to 16 bytes'],
    [undefined, false, 'Sec-WebSocket-Key is missing.'],
    ['', false, 'decodes to 0 bytes, needs 16'],
    ['AAAAAAAAAAAAAAAA', false, 'Sec-WebSocket-Key decodes to 12 bytes, needs 16.'],
    ['AAAAAAAAAAAAAAAAAAAAAAA=', false, 'decodes to 17 bytes, needs 16'],
    ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', false, 'decodes to 32 bytes, needs 16'],
    ['!!!!', false, 'is not valid base64'],
    ['dGhlIHNhbXBsZSBub25jZQ=', false, 'is not valid base64'],
    ['dGhlIHNhbXBsZSBub25jZQ', false, 'is not valid base64'],
    ['dGhlIHNhbXBs ZSBub25jZQ==', false, 'is not valid base64'],
  ])('describeKey(%j): ok %s, detail contains %j', (key, ok, detail) => {
    const r = describeKey(key);
    expect(r.ok).toBe(ok);
    expect(r.detail).toContain(detail);
  });
});

describe('buildClientRequest (§4.1)', () => {
  it('builds the RFC §1.3 request with a fixed key', () => {
    const { bytes, key } = buildClientRequest({ host: 'server.example.com', path: '/chat', key: RFC_KEY, subprotocols: ['chat', 'superchat'], headers: [{ name: 'Origin', value: 'http://example.com' }] });
    expect(key).toBe(RFC_KEY);
    expect(new TextDecoder().decode(bytes)).toBe(
      'GET /chat HTTP/1.1\r\n' +
      'Host: server.example.com\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Protocol: chat, superchat\r\n' +
      'Origin: http://example.com\r\n' +
      '\r\n',
    );
  });

  it('omits Sec-WebSocket-Protocol when no subprotocol is offered, and generates a key when none is given', () => {
    const { bytes, key } = buildClientRequest({ host: 'h', path: '/' });
    const head = parseHead(bytes, 'request');
    expect(headerValue(head, 'Sec-WebSocket-Protocol')).toBeUndefined();
    expect(headerValue(head, 'Sec-WebSocket-Key')).toBe(key);
    expect(describeKey(key).ok).toBe(true);
  });

  it.each(['a b', 'x,y', '', 'é'])('rejects the subprotocol %j (not a token, §4.1 item 10)', (p) => {
    expect(() => buildClientRequest({ host: 'h', path: '/', subprotocols: [p] })).toThrow(HandshakeOptionError);
    expect(() => buildClientRequest({ host: 'h', path: '/', subprotocols: [p] })).toThrow(/subprotocol.*RFC 6455 §4\.1 item 10/);
  });

  it.each([
    [{ name: 'Bad Name', value: 'x' }, /not a valid header name/],
    [{ name: 'X-Evil', value: 'a\r\nInjected: yes' }, /contains a CR/],
    [{ name: 'X-Evil', value: 'a\nInjected: yes' }, /contains an LF/],
    [{ name: 'X-Evil', value: 'a\0b' }, /contains a NUL/],
  ])('refuses the header %j: nothing malformed is built (RFC 9110 §5.1, §5.5)', (header, message) => {
    expect(() => buildClientRequest({ host: 'h', path: '/', headers: [header] })).toThrow(message);
  });
});

describe('buildClientRequest: a user header that names a generated one replaces it', () => {
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

  it('Sec-WebSocket-Key: sent once, the user\'s, and returned as the key the Accept is checked against', () => {
    const { bytes, key } = buildClientRequest({ host: 'h', path: '/', headers: [{ name: 'Sec-WebSocket-Key', value: RFC_KEY }] });
    const head = parseHead(bytes, 'request');
    expect(headerValues(head, 'Sec-WebSocket-Key')).toEqual([RFC_KEY]);
    expect(key).toBe(RFC_KEY);
    // In the generated header's place, so the head keeps the RFC's order.
    expect(head.headers.map((h) => h.name)).toEqual(['Host', 'Upgrade', 'Connection', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version']);
    // The RFC's own pair: a server answering for this key is accepted.
    const response = parseHead(ascii(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`), 'response');
    expect(checkServerResponse(response, key).error).toBeUndefined();
  });

  it('a user key replaces even a fixed options.key', () => {
    const { bytes, key } = buildClientRequest({ host: 'h', path: '/', key: 'AAAAAAAAAAAAAAAAAAAAAA==', headers: [{ name: 'sec-websocket-key', value: RFC_KEY }] });
    expect(key).toBe(RFC_KEY);
    expect(text(bytes)).not.toContain('AAAAAAAAAAAAAAAAAAAAAA==');
    expect(text(bytes)).toContain(`sec-websocket-key: ${RFC_KEY}\r\n`);
  });

  it('a second header of the same name is sent as well (a deliberate duplicate, for testing a server)', () => {
    const { bytes, key } = buildClientRequest({ host: 'h', path: '/', headers: [{ name: 'Sec-WebSocket-Key', value: RFC_KEY }, { name: 'Sec-WebSocket-Key', value: 'second' }] });
    expect(headerValues(parseHead(bytes, 'request'), 'Sec-WebSocket-Key')).toEqual([RFC_KEY, 'second']);
    expect(key).toBe(RFC_KEY);
  });

  it.each([
    ['Host', 'other.example'],
    ['Upgrade', 'WebSocket'],
    ['Connection', 'keep-alive, Upgrade'],
    ['Sec-WebSocket-Version', '8'],
  ])('%s is replaced, not repeated', (name, value) => {
    const head = parseHead(buildClientRequest({ host: 'h', path: '/', headers: [{ name, value }] }).bytes, 'request');
    expect(headerValues(head, name)).toEqual([value]);
    expect(head.headers).toHaveLength(5);
  });

  it('Sec-WebSocket-Protocol replaces the generated list when subprotocols are given, and is what the response is checked against', () => {
    const built = buildClientRequest({ host: 'h', path: '/', subprotocols: ['chat'], headers: [{ name: 'Sec-WebSocket-Protocol', value: 'mqtt, wamp' }] });
    expect(headerValues(parseHead(built.bytes, 'request'), 'Sec-WebSocket-Protocol')).toEqual(['mqtt, wamp']);
    expect(built.subprotocols).toEqual(['mqtt', 'wamp']);
  });

  it('Sec-WebSocket-Protocol without subprotocols is an extra header, and counts as offered', () => {
    const built = buildClientRequest({ host: 'h', path: '/', headers: [{ name: 'Sec-WebSocket-Protocol', value: 'mqtt' }] });
    expect(headerValues(parseHead(built.bytes, 'request'), 'Sec-WebSocket-Protocol')).toEqual(['mqtt']);
    expect(built.subprotocols).toEqual(['mqtt']);
  });

  it('other headers are added after the generated ones, in order', () => {
    const head = parseHead(buildClientRequest({ host: 'h', path: '/', headers: [{ name: 'Origin', value: 'http://a' }, { name: 'X-B', value: '2' }] }).bytes, 'request');
    expect(head.headers.slice(5)).toEqual([{ name: 'Origin', value: 'http://a' }, { name: 'X-B', value: '2' }]);
  });
});

// ------------------------------------------------------------------------------------ server side

const goodHeaders: [string, string][] = [
  ['Host', 'server.example.com'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', RFC_KEY],
  ['Sec-WebSocket-Version', '13'],
];

interface RequestEdit {
  requestLine?: string;
  /** Replace (or with null remove) a header; repeated names in `add` are appended. */
  set?: Record<string, string | null>;
  add?: [string, string][];
}

function request(edit: RequestEdit = {}): HttpHead {
  const lines = [edit.requestLine ?? 'GET /chat HTTP/1.1'];
  for (const [name, value] of goodHeaders) {
    if (edit.set && name in edit.set) {
      const v = edit.set[name];
      if (v !== null && v !== undefined) lines.push(`${name}: ${v}`);
    } else {
      lines.push(`${name}: ${value}`);
    }
  }
  for (const [name, value] of Object.entries(edit.set ?? {})) {
    if (!goodHeaders.some(([n]) => n === name) && value !== null) lines.push(`${name}: ${value}`);
  }
  for (const [name, value] of edit.add ?? []) lines.push(`${name}: ${value}`);
  return parseHead(ascii(lines.join('\r\n') + '\r\n\r\n'), 'request');
}

/** Parses handshake response bytes as HTTP, returning the head and the body. */
function parseResponse(bytes: Uint8Array): { head: HttpHead; body: string } {
  const result = new HttpHeadParser({ kind: 'response', maxSize: 16384 }).feed(bytes);
  if (!result.done) throw new Error('response head did not end');
  return { head: result.head, body: new TextDecoder().decode(result.rest) };
}

function startLine(head: HttpHead): string {
  return new TextDecoder().decode(head.raw).split('\r\n')[0]!;
}

describe('answerClientHandshake: one row per rule (§4.2.1)', () => {
  it.each<[string, RequestEdit, number, string, string, Record<string, string>?]>([
    ['method POST', { requestLine: 'POST /chat HTTP/1.1' }, 405, 'method', 'HANDSHAKE_METHOD', { Allow: 'GET' }],
    ['method HEAD', { requestLine: 'HEAD /chat HTTP/1.1' }, 405, 'method', 'HANDSHAKE_METHOD', { Allow: 'GET' }],
    ['HTTP/1.0', { requestLine: 'GET /chat HTTP/1.0' }, 505, 'http-version', 'HANDSHAKE_HTTP_VERSION'],
    ['Host missing', { set: { Host: null } }, 400, 'host', 'HANDSHAKE_HOST'],
    ['Host twice', { add: [['Host', 'other.example.com']] }, 400, 'host', 'HANDSHAKE_HOST'],
    ['Upgrade missing', { set: { Upgrade: null } }, 426, 'upgrade', 'HANDSHAKE_UPGRADE', { Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' }],
    ['Upgrade: h2c', { set: { Upgrade: 'h2c' } }, 426, 'upgrade', 'HANDSHAKE_UPGRADE', { Upgrade: 'websocket' }],
    ['Upgrade: websockets', { set: { Upgrade: 'websockets' } }, 426, 'upgrade', 'HANDSHAKE_UPGRADE'],
    ['Connection missing', { set: { Connection: null } }, 400, 'connection', 'HANDSHAKE_CONNECTION'],
    ['Connection: keep-alive', { set: { Connection: 'keep-alive' } }, 400, 'connection', 'HANDSHAKE_CONNECTION'],
    ['Connection: close', { set: { Connection: 'close' } }, 400, 'connection', 'HANDSHAKE_CONNECTION'],
    ['Connection: Upgraded', { set: { Connection: 'Upgraded' } }, 400, 'connection', 'HANDSHAKE_CONNECTION'],
    ['Sec-WebSocket-Key missing', { set: { 'Sec-WebSocket-Key': null } }, 400, 'key', 'HANDSHAKE_KEY'],
    ['Sec-WebSocket-Key not base64', { set: { 'Sec-WebSocket-Key': 'not base64 at all!' } }, 400, 'key', 'HANDSHAKE_KEY'],
    ['Sec-WebSocket-Key decodes to 12 bytes', { set: { 'Sec-WebSocket-Key': 'AAAAAAAAAAAAAAAA' } }, 400, 'key', 'HANDSHAKE_KEY'],
    ['Sec-WebSocket-Key twice', { add: [['Sec-WebSocket-Key', RFC_KEY]] }, 400, 'key', 'HANDSHAKE_KEY'],
    ['Sec-WebSocket-Version 8', { set: { 'Sec-WebSocket-Version': '8' } }, 426, 'version', 'HANDSHAKE_VERSION', { 'Sec-WebSocket-Version': '13' }],
    ['Sec-WebSocket-Version missing', { set: { 'Sec-WebSocket-Version': null } }, 426, 'version', 'HANDSHAKE_VERSION', { 'Sec-WebSocket-Version': '13' }],
    ['Sec-WebSocket-Version 14', { set: { 'Sec-WebSocket-Version': '14' } }, 426, 'version', 'HANDSHAKE_VERSION', { 'Sec-WebSocket-Version': '13' }],
  ])('%s → %i', (_name, edit, status, rule, code, extraHeaders = {}) => {
    const result = answerClientHandshake(request(edit));
    expect(result.status).toBe(status);
    expect(result.error).toBeInstanceOf(HandshakeError);
    expect(result.error!.status).toBe(status);
    expect(result.error!.code).toBe(code);
    expect(result.accept).toBeUndefined();
    // The failed rule is in the checklist, with its status; every other rule passed.
    const failed = result.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.rule)).toEqual([rule]);
    expect(failed[0]!.status).toBe(status);
    expect(failed[0]!.detail).toBe(result.error!.message);
    // The response bytes are a valid HTTP response with the right status line.
    const { head, body } = parseResponse(result.response);
    expect(startLine(head)).toBe(`HTTP/1.1 ${status} ${{ 400: 'Bad Request', 405: 'Method Not Allowed', 426: 'Upgrade Required', 505: 'HTTP Version Not Supported' }[status]}`);
    expect(head.status).toBe(status);
    for (const [name, value] of Object.entries(extraHeaders)) expect(headerValue(head, name)).toBe(value);
    expect(headerValue(head, 'Sec-WebSocket-Accept')).toBeUndefined();
    expect(headerValue(head, 'Connection')).toBe('close');
    expect(Number(headerValue(head, 'Content-Length'))).toBe(new TextEncoder().encode(body).length);
    expect(body).toContain(result.error!.message);
  });

  it('the 12-byte key detail says "decodes to 12 bytes, needs 16"', () => {
    const result = answerClientHandshake(request({ set: { 'Sec-WebSocket-Key': 'AAAAAAAAAAAAAAAA' } }));
    expect(result.checks.find((c) => c.rule === 'key')!.detail).toContain('decodes to 12 bytes, needs 16');
    expect(result.error!.message).toContain('decodes to 12 bytes, needs 16');
  });

  it.each<[string, RequestEdit]>([
    ['the RFC request', {}],
    ['Connection: keep-alive, Upgrade', { set: { Connection: 'keep-alive, Upgrade' } }],
    ['Connection: upgrade (lowercase)', { set: { Connection: 'upgrade' } }],
    ['Connection: UPGRADE', { set: { Connection: 'UPGRADE' } }],
    ['Connection split over two header lines', { set: { Connection: 'keep-alive' }, add: [['Connection', 'Upgrade']] }],
    ['Upgrade: WebSocket (case-insensitive)', { set: { Upgrade: 'WebSocket' } }],
    ['HTTP/1.1 with a query string', { requestLine: 'GET /chat?room=1 HTTP/1.1' }],
    ['lowercase header names', { set: { Host: null }, add: [['host', 'server.example.com']] }],
  ])('%s → 101', (_name, edit) => {
    const result = answerClientHandshake(request(edit));
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(101);
    expect(result.checks.every((c) => c.ok)).toBe(true);
    const { head, body } = parseResponse(result.response);
    expect(startLine(head)).toBe('HTTP/1.1 101 Switching Protocols');
    expect(headerValue(head, 'Upgrade')).toBe('websocket');
    expect(headerValue(head, 'Connection')).toBe('Upgrade');
    expect(headerValue(head, 'Sec-WebSocket-Accept')).toBe(RFC_ACCEPT);
    expect(body).toBe('');
  });

  it('the 101 response for the RFC request is byte for byte the RFC §1.3 response (no subprotocol)', () => {
    const result = answerClientHandshake(request());
    expect(new TextDecoder().decode(result.response)).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
      '\r\n',
    );
    expect(result.accept).toEqual(computeAccept(RFC_KEY));
  });

  it('reports the first failing rule when several are broken (checklist order)', () => {
    const result = answerClientHandshake(request({ requestLine: 'POST /chat HTTP/1.0', set: { Host: null } }));
    expect(result.status).toBe(405);
    expect(result.checks.filter((c) => !c.ok).map((c) => c.rule)).toEqual(['method', 'http-version', 'host']);
  });
});

describe('answerClientHandshake: subprotocols (§4.2.2, §11.3.4)', () => {
  it.each<[string, string | null, readonly string[] | undefined, string | null]>([
    ['client offers chat, superchat; server speaks chat', 'chat, superchat', ['chat'], 'chat'],
    ['client offers chat, superchat; server speaks superchat', 'chat, superchat', ['superchat'], 'superchat'],
    ['server prefers superchat over chat', 'chat, superchat', ['superchat', 'chat'], 'superchat'],
    ['server speaks none of the offered', 'chat, superchat', ['mqtt'], null],
    ['client offers none', null, ['chat'], null],
    ['server speaks none at all', 'chat', undefined, null],
    ['offered with odd spacing', ' chat ,superchat', ['superchat'], 'superchat'],
  ])('%s → %j', (_name, offered, supported, chosen) => {
    const edit: RequestEdit = offered === null ? {} : { add: [['Sec-WebSocket-Protocol', offered]] };
    const options: ServerHandshakeOptions = supported ? { subprotocols: supported } : {};
    const result = answerClientHandshake(request(edit), options);
    expect(result.status).toBe(101);
    expect(result.subprotocol).toBe(chosen);
    const { head } = parseResponse(result.response);
    const header = headerValues(head, 'Sec-WebSocket-Protocol');
    if (chosen === null) expect(header).toEqual([]);
    else expect(header).toEqual([chosen]);
    if (chosen !== null && offered !== null) expect(offered.split(',').map((s) => s.trim())).toContain(chosen);
  });
});

describe('answerClientHandshake: checklist wording', () => {
  it('the key check claims 16 bytes, not randomness (a check cannot verify randomness)', () => {
    const label = answerClientHandshake(request({})).checks.find((c) => c.rule === 'key')!.label;
    expect(label).toContain('16 bytes');
    expect(label).not.toMatch(/16 random bytes/);
  });

  it('the subprotocol row cites §4.2.2 item 4 (/subprotocol/) and 5.5, not 5.4 (Sec-WebSocket-Accept)', () => {
    const row = answerClientHandshake(request({ add: [['Sec-WebSocket-Protocol', 'chat']] }), { subprotocols: ['chat'] }).checks.find((c) => c.rule === 'subprotocol')!;
    expect(row.rfcSection).toBe('§4.2.2 (4) and (5.5), §11.3.4');
  });

  it('two extension offers are listed with ", " between them, "; " only before parameters', () => {
    const row = answerClientHandshake(request({ add: [['Sec-WebSocket-Extensions', 'a; p, b']] })).checks.find((c) => c.rule === 'extensions')!;
    expect(row.detail).toContain('a; p, b');
  });
});

describe('answerClientHandshake: allowedOrigins (§10.2)', () => {
  const options = { allowedOrigins: ['http://example.com'] };
  it.each<[string, string | null, number]>([
    ['allowed origin', 'http://example.com', 101],
    ['other origin', 'http://evil.example', 403],
    ['same host, other scheme', 'https://example.com', 403],
    ['origin missing', null, 403],
  ])('%s → %i', (_name, origin, status) => {
    const result = answerClientHandshake(request(origin === null ? {} : { add: [['Origin', origin]] }), options);
    expect(result.status).toBe(status);
    const { head } = parseResponse(result.response);
    expect(head.status).toBe(status);
    if (status === 403) {
      expect(startLine(head)).toBe('HTTP/1.1 403 Forbidden');
      expect(result.error!.code).toBe('HANDSHAKE_ORIGIN');
      expect(result.checks.find((c) => c.rule === 'origin')!.ok).toBe(false);
    }
  });

  it('without an allow-list any origin is accepted and the check is informational', () => {
    const result = answerClientHandshake(request({ add: [['Origin', 'http://evil.example']] }));
    expect(result.status).toBe(101);
    expect(result.checks.find((c) => c.rule === 'origin')).toMatchObject({ ok: true, informational: true });
  });
});

describe('errorResponse', () => {
  it('writes the extra headers, a text body and a matching Content-Length', () => {
    const error = new HandshakeError('X', 426, 'Upgrade it.', '§4.2.1', { 'Sec-WebSocket-Version': '13' });
    const { bytes } = errorResponse(error);
    const { head, body } = parseResponse(bytes);
    expect(startLine(head)).toBe('HTTP/1.1 426 Upgrade Required');
    expect(headerValue(head, 'Sec-WebSocket-Version')).toBe('13');
    expect(body).toBe('Upgrade it. (RFC 6455 §4.2.1)\n');
    expect(Number(headerValue(head, 'Content-Length'))).toBe(new TextEncoder().encode(body).length);
  });

  it('names another RFC\'s section as it is (431 is RFC 6585 §5), not as RFC 6455\'s', () => {
    const { bytes } = errorResponse(new HandshakeError('HTTP_HEAD_TOO_LARGE', 431, 'Too big.', 'RFC 6585 §5'));
    expect(parseResponse(bytes).body).toBe('Too big. (RFC 6585 §5)\n');
  });
});

// ------------------------------------------------------------------------------------ client side

function response(lines: string[]): HttpHead {
  return parseHead(ascii(lines.join('\r\n') + '\r\n\r\n'), 'response');
}

const goodResponse = [
  'HTTP/1.1 101 Switching Protocols',
  'Upgrade: websocket',
  'Connection: Upgrade',
  `Sec-WebSocket-Accept: ${RFC_ACCEPT}`,
];

describe('checkServerResponse (§4.1, client side)', () => {
  it('accepts the RFC §1.3 response', () => {
    const result = checkServerResponse(response(goodResponse), RFC_KEY);
    expect(result.error).toBeUndefined();
    expect(result.subprotocol).toBeNull();
    expect(result.accept.accept).toBe(RFC_ACCEPT);
    expect(result.checks.every((c) => c.ok)).toBe(true);
  });

  it.each<[string, string[], readonly string[], string | null]>([
    ['Upgrade: WebSocket, Connection: upgrade (case-insensitive)', ['HTTP/1.1 101 Switching Protocols', 'Upgrade: WebSocket', 'Connection: upgrade', `Sec-WebSocket-Accept: ${RFC_ACCEPT}`], [], null],
    ['the subprotocol the client offered', [...goodResponse, 'Sec-WebSocket-Protocol: chat'], ['chat', 'superchat'], 'chat'],
    ['no subprotocol although some were offered', goodResponse, ['chat'], null],
  ])('accepts %s', (_name, lines, requested, subprotocol) => {
    const result = checkServerResponse(response(lines), RFC_KEY, requested);
    expect(result.error).toBeUndefined();
    expect(result.subprotocol).toBe(subprotocol);
  });

  it.each<[string, string[], readonly string[], string]>([
    ['status 200', ['HTTP/1.1 200 OK', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${RFC_ACCEPT}`], [], 'status'],
    ['status 426', ['HTTP/1.1 426 Upgrade Required', 'Sec-WebSocket-Version: 13'], [], 'status'],
    ['Upgrade missing', goodResponse.filter((l) => !l.startsWith('Upgrade')), [], 'upgrade'],
    ['Upgrade: h2c', goodResponse.map((l) => (l.startsWith('Upgrade') ? 'Upgrade: h2c' : l)), [], 'upgrade'],
    ['Connection missing', goodResponse.filter((l) => !l.startsWith('Connection')), [], 'connection'],
    ['Connection: close', goodResponse.map((l) => (l.startsWith('Connection') ? 'Connection: close' : l)), [], 'connection'],
    ['Accept of another key', goodResponse.map((l) => (l.startsWith('Sec-WebSocket-Accept') ? 'Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=' : l)), [], 'accept'],
    ['Accept missing', goodResponse.filter((l) => !l.startsWith('Sec-WebSocket-Accept')), [], 'accept'],
    ['Accept with different case', goodResponse.map((l) => (l.startsWith('Sec-WebSocket-Accept') ? `Sec-WebSocket-Accept: ${RFC_ACCEPT.toLowerCase()}` : l)), [], 'accept'],
    ['an extension the client did not ask for', [...goodResponse, 'Sec-WebSocket-Extensions: permessage-deflate'], [], 'extensions'],
    ['a subprotocol when none was requested', [...goodResponse, 'Sec-WebSocket-Protocol: chat'], [], 'subprotocol'],
    ['a subprotocol other than the ones requested', [...goodResponse, 'Sec-WebSocket-Protocol: superchat'], ['chat'], 'subprotocol'],
  ])('rejects %s (rule %s)', (_name, lines, requested, rule) => {
    const result = checkServerResponse(response(lines), RFC_KEY, requested);
    expect(result.error).toBeInstanceOf(HandshakeError);
    expect(result.error!.code).toBe(`HANDSHAKE_${rule.toUpperCase()}`);
    expect(result.checks.find((c) => !c.ok)!.rule).toBe(rule);
    expect(result.subprotocol).toBeNull();
  });

  it('the server answer for a client request passes the client check (both sides agree)', () => {
    const { bytes, key } = buildClientRequest({ host: 'localhost:9001', path: '/', subprotocols: ['chat', 'superchat'] });
    const answer = answerClientHandshake(parseHead(bytes, 'request'), { subprotocols: ['superchat'] });
    const check = checkServerResponse(parseResponse(answer.response).head, key, ['chat', 'superchat']);
    expect(check.error).toBeUndefined();
    expect(check.subprotocol).toBe('superchat');
  });
});
