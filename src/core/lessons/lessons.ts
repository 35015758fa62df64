/**
 * The guided lessons (issue 15): ten lessons from the opening handshake to security, each a few
 * steps done on live traffic against our server. `quotes` are RFC 6455 verbatim (checked by
 * test/core/lessons/lesson-quotes.test.ts); summaries, tasks and explanations are paraphrases.
 */

import { toHex, utf8DecodeLenient } from '../bytes.ts';
import { describeCloseCode } from '../constants.ts';
import type { TracedFrame, TraceEvent } from '../trace.ts';
import { explainFirstTwoBytes, explainLength, explainUnmasking, headerOf, hexPreview } from './explain.ts';
import type { ConnectionMemory, Lesson, LessonStep, StepEvidence } from './lesson.ts';
import { sentByClient } from './lesson-run.ts';

/** RFC 6455 §1.3's sample key and the Accept it gives. */
const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const SAMPLE_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

const evidence = (event: TraceEvent, explanation: string[]): StepEvidence => ({ connectionId: event.connectionId, explanation, seqs: [event.seq] });

type FrameEvent = Extract<TraceEvent, { type: 'frame' }>;

/** A detector that fires on a frame from the client (or the server) that `explain` accepts. */
function onFrame(from: 'client' | 'server', explain: (frame: TracedFrame, event: FrameEvent, memory: ConnectionMemory) => string[] | null): LessonStep['detect'] {
  return (event, memory) => {
    if (event.type !== 'frame' || sentByClient(event.direction, memory.role) !== (from === 'client')) return null;
    const lines = explain(event.frame, event, memory);
    return lines ? evidence(event, lines) : null;
  };
}

const isData = (frame: TracedFrame) => frame.opcode === 0x1 || frame.opcode === 0x2;
const compressedNote = (frame: TracedFrame) => (frame.rsv1 ? ['RSV1 is set: permessage-deflate compressed this message (RFC 7692), so the length counts compressed bytes'] : []);

/** A small random binary message of `size` bytes, as a console line (random bytes barely compress). */
const sendRandom = (size: number) =>
  `ws = new WebSocket('{url}'); ws.onopen = () => { const b = new Uint8Array(${size}); for (let i = 0; i < b.length; i += 65536) crypto.getRandomValues(b.subarray(i, i + 65536)); ws.send(b); }`;

const handshake: Lesson = {
  id: 'handshake',
  title: 'The opening handshake',
  sections: ['§1.3', '§4.1', '§4.2.2'],
  summary: 'A WebSocket starts as an ordinary HTTP/1.1 GET that asks to switch protocols. The server agrees with 101 Switching Protocols; from then on the TCP connection carries WebSocket frames, not HTTP.',
  quotes: [
    { section: '§1.3', text: 'The opening handshake is intended to be compatible with HTTP-based server-side software and intermediaries, so that a single port can be used by both HTTP clients talking to that server and WebSocket clients talking to that server.' },
  ],
  steps: [
    {
      id: 'request',
      task: 'Open a WebSocket to the server and look at the request your client sent.',
      tryIt: { console: "ws = new WebSocket('{url}')", cli: 'wsinspect connect {url}', app: 'Connect with the app\'s client.' },
      detect: (event, memory) => {
        if (event.type !== 'http-head' || event.head.kind !== 'request' || !sentByClient(event.direction, memory.role)) return null;
        const h = event.head.headers;
        return evidence(event, [
          `request line: ${event.head.startLine} (a GET, HTTP/1.1 or later: §4.1 items 1-2)`,
          `Upgrade: ${headerOf(h, 'Upgrade') ?? '(missing)'} and Connection: ${headerOf(h, 'Connection') ?? '(missing)'} ask the server to switch protocols (§4.1 items 5-6)`,
          `Sec-WebSocket-Key: ${headerOf(h, 'Sec-WebSocket-Key') ?? '(missing)'}: 16 random bytes in base64, the server must answer it (§4.1 item 7)`,
          `Sec-WebSocket-Version: ${headerOf(h, 'Sec-WebSocket-Version') ?? '(missing)'}: 13 is RFC 6455 (§4.1 item 9)`,
          headerOf(h, 'Origin') !== undefined ? `Origin: ${headerOf(h, 'Origin')}: a browser says which page opened the socket (§4.1 item 8, §10.2)` : 'no Origin header: not sent from a browser page (browsers always send it, §4.1 item 8)',
          `${event.head.raw.length} bytes of HTTP in all, ending with an empty line (CR LF CR LF)`,
        ]);
      },
    },
    {
      id: 'response',
      task: 'Look at the server\'s answer: the status line and the headers that complete the handshake.',
      tryIt: { console: "ws = new WebSocket('{url}')", cli: 'wsinspect connect {url}' },
      detect: (event, memory) => {
        if (event.type !== 'http-head' || event.head.kind !== 'response' || sentByClient(event.direction, memory.role)) return null;
        const h = event.head.headers;
        if (!/^HTTP\/1\.1 101\b/.test(event.head.startLine)) return null;
        return evidence(event, [
          `status line: ${event.head.startLine}: 101 means the server switches to WebSocket (§4.2.2 item 5.1); any other status and the connection stays HTTP`,
          `Upgrade: ${headerOf(h, 'Upgrade')} and Connection: ${headerOf(h, 'Connection')} confirm the switch (§4.2.2 items 5.2-5.3)`,
          `Sec-WebSocket-Accept: ${headerOf(h, 'Sec-WebSocket-Accept')}: proof the server read your key (next lesson)`,
          'after the blank line the same TCP connection carries frames in both directions',
        ]);
      },
    },
  ],
  check: {
    question: 'What status code does a server send to accept a WebSocket opening handshake?',
    choices: ['200 OK', '101 Switching Protocols', '426 Upgrade Required', '204 No Content'],
    answer: 1,
    why: 'RFC 6455 §4.2.2 item 5.1: the server answers with a Status-Line with a 101 response code. Any other status is plain HTTP (§4.1): a 401 asks for credentials, a 3xx redirects.',
  },
};

const accept: Lesson = {
  id: 'accept',
  title: 'Sec-WebSocket-Accept',
  sections: ['§1.3', '§4.2.2'],
  summary: 'The server proves it understood the WebSocket handshake: it appends a fixed GUID to the client\'s key as text, hashes that string with SHA-1 and sends the hash in base64. A server that is not a WebSocket server cannot produce it, so a crafted XHR or form post cannot open a WebSocket by accident.',
  quotes: [
    { section: '§1.3', text: 'Finally, the server has to prove to the client that it received the client\'s WebSocket handshake, so that the server doesn\'t accept connections that are not WebSocket connections.' },
    { section: '§1.3', text: 'A SHA-1 hash (160 bits) [FIPS.180-3], base64-encoded (see Section 4 of [RFC4648]), of this concatenation is then returned in the server\'s handshake.' },
  ],
  steps: [
    {
      id: 'computed',
      task: 'Open a connection and follow how the server computed its Sec-WebSocket-Accept from your key.',
      tryIt: { console: "ws = new WebSocket('{url}')", cli: 'wsinspect connect {url}' },
      detect: (event) => {
        if (event.type !== 'handshake' || !event.accept) return null;
        const a = event.accept;
        return evidence(event, [
          `1. the key as sent, as text: ${a.key}`,
          `2. append the GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11 (the key is NOT base64-decoded first): ${a.concatenated}`,
          `3. SHA-1 of those ${a.concatenated.length} ASCII bytes: ${a.sha1Hex}`,
          `4. base64 of the 20-byte hash: ${a.accept}: the Sec-WebSocket-Accept value`,
        ]);
      },
    },
    {
      id: 'sample-key',
      task: 'Send the RFC\'s own sample key and check that the answer is the RFC\'s own Accept.',
      tryIt: {
        cli: `wsinspect connect {url} --header "Sec-WebSocket-Key: ${SAMPLE_KEY}"`,
      },
      detect: (event) => {
        if (event.type !== 'handshake' || event.accept?.key !== SAMPLE_KEY) return null;
        const same = event.accept.accept === SAMPLE_ACCEPT;
        return evidence(event, [
          `your key ${SAMPLE_KEY} is the one in RFC 6455 §1.3 (it decodes to the 16 bytes "the sample nonce")`,
          `the server answered ${event.accept.accept}; §1.3 gives ${SAMPLE_ACCEPT}: ${same ? 'the same, as it must be' : 'DIFFERENT: this server computes it wrongly'}`,
        ]);
      },
    },
  ],
  check: {
    question: 'Before appending the GUID, what does the server do with the Sec-WebSocket-Key value?',
    choices: ['Decodes it from base64 to 16 bytes', 'Nothing: it uses the base64 text as sent (leading and trailing whitespace aside)', 'Lower-cases it', 'Hashes it with SHA-1'],
    answer: 1,
    why: 'RFC 6455 §1.3 and §4.2.2 item 5.4: the key is concatenated as its base64 string, not decoded.',
  },
};

const frameLengths: Lesson = {
  id: 'frame-lengths',
  title: 'The frame header and its three length encodings',
  sections: ['§5.2'],
  summary: 'Every frame starts with two bytes: FIN, three reserved bits and the opcode, then the mask bit and a 7-bit length. Lengths up to 125 fit in those 7 bits; 126 means a 16-bit length follows; 127 means a 64-bit length follows. The shortest form must be used.',
  quotes: [
    { section: '§5.2', text: 'The length of the "Payload data", in bytes: if 0-125, that is the payload length. If 126, the following 2 bytes interpreted as a 16-bit unsigned integer are the payload length. If 127, the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length.' },
    { section: '§5.2', text: 'Note that in all cases, the minimal number of bytes MUST be used to encode the length' },
  ],
  steps: [
    {
      id: 'short',
      task: 'Send a short message (at most 125 bytes).',
      tryIt: { console: "ws = new WebSocket('{url}'); ws.onopen = () => ws.send('hi there')", cli: 'wsinspect connect {url} --send "hi there"' },
      detect: onFrame('client', (frame) => (isData(frame) && frame.lengthField <= 125 ? [...explainFirstTwoBytes(frame), explainLength(frame), ...compressedNote(frame)] : null)),
    },
    {
      id: 'medium',
      task: 'Send a message of 126 to 65535 bytes, so the 16-bit extended length is used.',
      tryIt: { console: sendRandom(200), cli: 'wsinspect connect {url} --send-binary @/etc/services --no-deflate' },
      detect: onFrame('client', (frame) => (isData(frame) && frame.lengthField === 126 ? [...explainFirstTwoBytes(frame), explainLength(frame), ...compressedNote(frame)] : null)),
    },
    {
      id: 'long',
      task: 'Send a message longer than 65535 bytes, so the 64-bit extended length is used.',
      tryIt: { console: sendRandom(70_000), cli: 'head -c 70000 /dev/urandom > big.bin && wsinspect connect {url} --send-binary @big.bin --no-deflate' },
      detect: onFrame('client', (frame) => (isData(frame) && frame.lengthField === 127 ? [...explainFirstTwoBytes(frame), explainLength(frame), `header: ${frame.headerLength} bytes in all (2 + 8 length bytes${frame.masked ? ' + 4 masking key bytes' : ''})`, ...compressedNote(frame)] : null)),
    },
  ],
  check: {
    question: 'A frame carries 200 bytes of payload. What is in its 7-bit payload length field?',
    choices: ['200', '126, then 200 in the next 2 bytes', '127, then 200 in the next 8 bytes', '125'],
    answer: 1,
    why: 'RFC 6455 §5.2: 126 means the following 2 bytes hold the length; the minimal encoding MUST be used, so not the 8-byte form.',
  },
  server: { deflate: false },
};

const masking: Lesson = {
  id: 'masking',
  title: 'Masking',
  sections: ['§5.1', '§5.3', '§10.3'],
  summary: 'Every frame a client sends is XORed with a fresh, unpredictable 4-byte key carried in its header; the server\'s frames are not masked. The reason is not secrecy (the key is right there): a script in a page must not be able to choose the bytes on the wire, or it could make them look like an HTTP request to a confused proxy and poison its cache.',
  quotes: [
    { section: '§5.3', text: 'The masking key is a 32-bit value chosen at random by the client.' },
    { section: '§5.3', text: 'The unpredictability of the masking key is essential to prevent authors of malicious applications from selecting the bytes that appear on the wire.' },
    { section: '§10.3', text: 'The threat model being protected against is one in which the client sends data that appears to be an HTTP request.' },
    { section: '§5.1', text: 'A server MUST NOT mask any frames that it sends to the client.' },
  ],
  steps: [
    {
      id: 'masked',
      task: 'Send a text message from a client and unmask its first bytes by hand.',
      tryIt: { console: "ws = new WebSocket('{url}'); ws.onopen = () => ws.send('Hello')", cli: 'wsinspect connect {url} --send Hello' },
      detect: onFrame('client', (frame) => (isData(frame) && frame.maskKey && frame.payload.length > 0
        ? [...explainFirstTwoBytes(frame), ...explainUnmasking(frame)] : null)),
    },
    {
      id: 'fresh-key',
      task: 'Send another message on the same connection and compare the two masking keys.',
      tryIt: { console: "ws.send('Hello')", cli: 'wsinspect connect {url} --send Hello --send Hello' },
      detect: onFrame('client', (frame, _event, memory) => {
        if (!frame.maskKey || memory.recentMaskKeys.length === 0) return null;
        const previous = memory.recentMaskKeys[memory.recentMaskKeys.length - 1]!;
        const key = toHex(frame.maskKey);
        return [
          `previous key: ${previous}, this key: ${key}: ${previous === key ? 'THE SAME: a client must pick a fresh key for every frame (§5.3)' : 'different, as §5.3 asks: a fresh key for every frame'}`,
          'the same plain text gives different bytes on the wire each time, so a page cannot predict them (§10.3)',
        ];
      }),
    },
    {
      id: 'server-unmasked',
      task: 'Look at the server\'s echo: its frames carry no mask.',
      tryIt: { console: "ws.send('Hello')", cli: 'wsinspect connect {url} --send Hello' },
      detect: onFrame('server', (frame) => (isData(frame)
        ? [...explainFirstTwoBytes(frame), frame.masked ? 'MASK=1: a server must not mask (§5.1); a client must close on this' : `MASK=0: the payload follows the length directly: ${hexPreview(frame.payload)}`] : null)),
    },
  ],
  check: {
    question: 'Why must a client mask its frames?',
    choices: ['To encrypt the payload', 'So a script cannot choose the bytes on the wire and poison an intermediary\'s cache', 'To compress the payload', 'To detect transmission errors'],
    answer: 1,
    why: 'RFC 6455 §10.3: masking stops a malicious page from making its frames look like an HTTP request to a proxy that does not understand WebSocket. It hides nothing: the key is in the frame.',
  },
  server: { deflate: false },
};

const fragmentation: Lesson = {
  id: 'fragmentation',
  title: 'Fragmentation',
  sections: ['§5.4'],
  summary: 'A message may be sent in several frames: the first has the message\'s opcode and FIN clear, the middle ones are continuation frames (opcode 0) with FIN clear, the last is a continuation frame with FIN set. A sender can so start a message before knowing its size.',
  quotes: [
    { section: '§5.4', text: 'The primary purpose of fragmentation is to allow sending a message that is of unknown size when the message is started without having to buffer that message.' },
    { section: '§5.4', text: 'An intermediary might coalesce and/or split frames, if no extensions were negotiated by the client and the server' },
  ],
  steps: [
    {
      id: 'fragmented',
      task: 'Send one text message in three frames (browsers do not let a page choose this; use the CLI or the app\'s crafter).',
      tryIt: { cli: 'wsinspect connect {url} --send "Hello, fragments" --fragment 5,5', app: 'Connect the app\'s client, select it, type a text in the composer, fill "Split into frames of (bytes)" with 5, 5 and send it: 3 frames.' },
      detect: (event, memory) => {
        if (event.type !== 'message' || !sentByClient(event.direction, memory.role) || event.frameIds.length < 2) return null;
        return evidence(event, [
          `one ${event.opcode === 1 ? 'text' : 'binary'} message of ${event.size} bytes arrived in ${event.frameIds.length} frames (#${event.frameIds.join(', #')})`,
          `the first frame carries the opcode (0x${event.opcode.toString(16)}) with FIN=0; the others are continuation frames (opcode 0x0); only the last has FIN=1`,
          event.text !== undefined ? `the receiver joined them: "${event.text.slice(0, 60)}"` : 'the receiver joined them into one message',
        ]);
      },
    },
    {
      id: 'echo-coalesced',
      task: 'Look at the server\'s echo of that message: how many frames does it use?',
      tryIt: { cli: 'wsinspect connect {url} --send "Hello, fragments" --fragment 5,5' },
      detect: (event, memory) => {
        if (event.type !== 'message' || sentByClient(event.direction, memory.role)) return null;
        return evidence(event, [
          `the echo went out in ${event.frameIds.length} frame${event.frameIds.length === 1 ? '' : 's'}: frames are not meaningful to the application, only the message is (§5.4)`,
          'an endpoint or an intermediary may cut a message into frames differently from how it arrived, unless an extension forbids it',
        ]);
      },
    },
  ],
  check: {
    question: 'Which opcode does the second frame of a fragmented text message carry?',
    choices: ['0x1 (text)', '0x0 (continuation)', '0x2 (binary)', '0x8 (close)'],
    answer: 1,
    why: 'RFC 6455 §5.4: after the first frame, every fragment of the message is a continuation frame, opcode 0x0.',
  },
  server: { deflate: false },
};

const pingPong: Lesson = {
  id: 'ping-pong',
  title: 'Control frames: ping and pong',
  sections: ['§5.5', '§5.5.2', '§5.5.3'],
  summary: 'Control frames (close, ping, pong) have opcodes with the high bit set, at most 125 bytes of payload, and are never fragmented; they may arrive between the fragments of a message. A ping must be answered with a pong carrying the same payload.',
  quotes: [
    { section: '§5.5', text: 'All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented.' },
    { section: '§5.5.2', text: 'Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already received a Close frame.' },
    { section: '§5.5.3', text: 'A Pong frame sent in response to a Ping frame must have identical "Application data" as found in the message body of the Ping frame being replied to.' },
  ],
  steps: [
    {
      id: 'ping',
      task: 'Send a ping with a payload (browsers cannot send pings from a page; use the CLI or the app\'s client).',
      tryIt: { cli: 'wsinspect connect {url} --ping=hello', app: 'Connect the app\'s client, select it, pick Ping in the composer and send it.' },
      detect: onFrame('client', (frame) => (frame.opcode === 0x9
        ? [...explainFirstTwoBytes(frame), `payload: ${frame.payload.length} bytes "${utf8DecodeLenient(frame.payload).slice(0, 40)}"`] : null)),
    },
    {
      id: 'pong',
      task: 'Look at the server\'s pong and compare its payload with your ping\'s.',
      tryIt: { cli: 'wsinspect connect {url} --ping=hello' },
      detect: onFrame('server', (frame, _event, memory) => {
        if (frame.opcode !== 0xa) return null;
        const same = memory.lastPing !== null && memory.lastPing.payload === toHex(frame.payload);
        return [
          ...explainFirstTwoBytes(frame),
          `pong payload ${hexPreview(frame.payload)}: ${same ? 'identical to the ping\'s, as §5.5.3 requires' : 'NOT the ping\'s payload'}`,
        ];
      }),
    },
  ],
  check: {
    question: 'How long may a ping\'s payload be?',
    choices: ['Any length', 'At most 125 bytes', 'At most 65535 bytes', 'It must be empty'],
    answer: 1,
    why: 'RFC 6455 §5.5: all control frames have a payload of 125 bytes or less and are not fragmented.',
  },
};

const closing: Lesson = {
  id: 'closing',
  title: 'The closing handshake and close codes',
  sections: ['§5.5.1', '§7.1', '§7.4'],
  summary: 'Either side starts closing by sending a Close frame, optionally with a 2-byte status code and a UTF-8 reason; the other side answers with a Close (usually echoing the code); then the server closes the TCP connection first.',
  quotes: [
    { section: '§5.5.1', text: 'If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response.' },
    { section: '§5.5.1', text: 'The server MUST close the underlying TCP connection immediately; the client SHOULD wait for the server to close the connection but MAY close the connection at any time after sending and receiving a Close message' },
  ],
  steps: [
    {
      id: 'close-sent',
      task: 'Close the connection from the client with code 1000 and a reason.',
      tryIt: { console: "ws = new WebSocket('{url}'); ws.onopen = () => ws.close(1000, 'done')", cli: 'wsinspect connect {url} --close 1000 --reason done' },
      detect: onFrame('client', (frame) => {
        if (frame.opcode !== 0x8) return null;
        const code = frame.close?.code ?? null;
        return [
          ...explainFirstTwoBytes(frame),
          code === null ? 'no body: no status code (the receiver reports 1005)' : `the first 2 payload bytes ${hexPreview(frame.payload.subarray(0, 2))} are the code ${code} (${describeCloseCode(code).name}), then the reason "${frame.close?.reason ?? ''}" in UTF-8 (§5.5.1)`,
        ];
      }),
    },
    {
      id: 'close-answered',
      task: 'Look at the server\'s answering Close.',
      tryIt: { console: "ws = new WebSocket('{url}'); ws.onopen = () => ws.close(1000, 'done')", cli: 'wsinspect connect {url} --close 1000 --reason done' },
      detect: onFrame('server', (frame, _event, memory) => {
        if (frame.opcode !== 0x8 || !memory.closeFromClient) return null;
        return [`the server answered with a Close carrying ${frame.close?.code ?? 'no code'}: it echoes the code it received, as endpoints typically do (§5.5.1)`];
      }),
    },
    {
      id: 'tcp-closed',
      task: 'See the TCP connection end once both Close frames have crossed.',
      tryIt: { console: "ws = new WebSocket('{url}'); ws.onopen = () => ws.close(1000, 'done')" },
      detect: (event) => {
        if (event.type !== 'connection-closed') return null;
        return evidence(event, [
          `closed ${event.wasClean ? 'cleanly: both Close frames were exchanged before TCP closed' : 'without a clean closing handshake'} (code ${event.code}${event.reason ? `, "${event.reason}"` : ''})`,
          event.detail,
          'the server closes TCP first, so the TIME_WAIT state stays on the server and the client can reconnect at once (§7.1.1)',
        ]);
      },
    },
  ],
  check: {
    question: 'Who should close the TCP connection first after the closing handshake?',
    choices: ['The client', 'The server', 'Whoever sent the first Close', 'Neither; it times out'],
    answer: 1,
    why: 'RFC 6455 §5.5.1 and §7.1.1: the server MUST close the underlying TCP connection immediately; the client SHOULD wait for it.',
  },
  server: { deflate: false },
};

const utf8: Lesson = {
  id: 'utf8',
  title: 'UTF-8 rules',
  sections: ['§5.6', '§8.1'],
  summary: 'A text message must be valid UTF-8 as a whole; a single frame may end in the middle of a character if the next frame completes it. An endpoint that receives invalid UTF-8 fails the connection with 1007.',
  quotes: [
    { section: '§5.6', text: 'Note that a particular text frame might include a partial UTF-8 sequence; however, the whole message MUST contain valid UTF-8.' },
    { section: '§8.1', text: 'When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_.' },
  ],
  steps: [
    {
      id: 'split-character',
      task: 'Send "é" (2 bytes in UTF-8) as two frames of one byte each: each frame alone is half a character.',
      tryIt: { cli: 'wsinspect connect {url} --send é --fragment 1' },
      detect: (event, memory) => {
        if (event.type !== 'message' || !sentByClient(event.direction, memory.role) || event.opcode !== 1 || event.frameIds.length < 2) return null;
        return evidence(event, [
          `the text message "${event.text ?? ''}" came in ${event.frameIds.length} frames; a frame that ends mid-character is fine, the message as a whole is valid UTF-8 (§5.6)`,
        ]);
      },
    },
    {
      id: 'invalid',
      task: 'Send a text frame whose payload is not UTF-8 (C3 28) and watch the server fail the connection.',
      tryIt: { cli: 'wsinspect connect {url} --send-hex "81 82 00 00 00 00 c3 28"' },
      detect: (event) => {
        if (event.type !== 'violation' || event.violation.closeCode !== 1007) return null;
        return evidence(event, [
          `violation: ${event.violation.message} (${event.violation.rfcSection})`,
          'the server fails the connection with close code 1007 (invalid frame payload data, §7.4.1)',
          'your frame: 81 82 00 00 00 00 c3 28: a text frame, FIN set, masked with the key 00 00 00 00, payload C3 28: C3 starts a 2-byte character but 28 is not a continuation byte',
        ]);
      },
    },
  ],
  check: {
    question: 'A text message is sent in two frames; the first ends with the first byte of a 2-byte character. Is that allowed?',
    choices: ['No, every frame must be valid UTF-8', 'Yes, as long as the whole message is valid UTF-8', 'Only for binary messages', 'Only if RSV1 is set'],
    answer: 1,
    why: 'RFC 6455 §5.6: a text frame may include a partial UTF-8 sequence; the whole message must be valid UTF-8.',
  },
  server: { deflate: false },
};

const extensions: Lesson = {
  id: 'extensions',
  title: 'Extensions and compression',
  sections: ['§9', '§9.1'],
  summary: 'A client offers extensions in Sec-WebSocket-Extensions, most preferred first; the server accepts at most the ones it understands and answers with the accepted one and its parameters. permessage-deflate (RFC 7692) compresses each message and marks it with RSV1.',
  quotes: [
    { section: '§9', text: 'WebSocket clients MAY request extensions to this specification, and WebSocket servers MAY accept some or all extensions requested by the client.' },
    { section: '§9', text: 'A server MUST NOT respond with any extension not requested by the client.' },
  ],
  steps: [
    {
      id: 'negotiated',
      task: 'Connect from a browser (it offers permessage-deflate) and read the negotiation.',
      tryIt: { console: "ws = new WebSocket('{url}')", cli: 'wsinspect connect {url}' },
      detect: (event) => {
        if (event.type !== 'handshake' || !event.extensions?.offered) return null;
        const n = event.extensions;
        return evidence(event, [
          `offered: ${n.offered}`,
          ...n.offers.map((o) => `offer ${o.index + 1}: ${o.name}${o.params.map((p) => `; ${p.name}${p.value === null ? '' : `=${p.value}`}`).join('')}: ${o.verdict} (${o.reason})`),
          n.agreed ? `agreed: ${n.response}` : 'nothing agreed: frames stay uncompressed and RSV1 stays 0',
        ]);
      },
    },
    {
      id: 'compressed',
      task: 'Send a repetitive text message and compare its size on the wire with its size as text.',
      tryIt: { console: "ws = new WebSocket('{url}'); ws.onopen = () => ws.send('hello '.repeat(50))", cli: 'wsinspect connect {url} --send "hello hello hello hello hello hello hello hello hello hello"' },
      detect: (event, memory) => {
        if (event.type !== 'message' || !sentByClient(event.direction, memory.role) || !event.compression) return null;
        const c = event.compression;
        return evidence(event, [
          `the first frame had RSV1=1: this message is compressed (RFC 7692 §6)`,
          `${event.size} bytes of text travelled as ${c.compressedSize} bytes${c.ratio !== null ? ` (${c.ratio.toFixed(1)}× smaller)` : ''}`,
          `the 4 bytes 00 00 ff ff were ${c.tail === 'stripped' ? 'stripped by the sender' : 'appended by the receiver before inflating'} (RFC 7692 §7.2)`,
          c.windowReason,
        ]);
      },
    },
  ],
  check: {
    question: 'A client offers no extensions. May the server answer with permessage-deflate?',
    choices: ['Yes, if it supports it', 'No: a server must not respond with an extension the client did not request', 'Only over wss://', 'Only for binary messages'],
    answer: 1,
    why: 'RFC 6455 §9.1: a server MUST NOT respond with any extension not requested by the client; the client fails the connection if it does.',
  },
  server: { deflate: true },
};

const security: Lesson = {
  id: 'security',
  title: 'Security: Origin, masking and limits',
  sections: ['§10.2', '§10.3', '§10.4'],
  summary: 'A server must decide whom it talks to (browsers send the page\'s Origin, so the server can refuse other sites\' pages) and must protect itself from huge frames and endless fragments by setting limits.',
  quotes: [
    { section: '§10.2', text: 'The |Origin| header field protects from the attack cases when the untrusted party is typically the author of a JavaScript application that is executing in the context of the trusted client.' },
    { section: '§10.4', text: 'Implementations that have implementation- and/or platform-specific limitations regarding the frame size or total message size after reassembly from multiple frames MUST protect themselves against exceeding those limits.' },
  ],
  steps: [
    {
      id: 'origin',
      task: 'Open a connection from a browser page and find the Origin it sent.',
      tryIt: { console: "ws = new WebSocket('{url}')" },
      detect: (event, memory) => {
        if (event.type !== 'http-head' || event.head.kind !== 'request' || !sentByClient(event.direction, memory.role)) return null;
        const origin = headerOf(event.head.headers, 'Origin');
        if (origin === undefined) return null;
        return evidence(event, [
          `Origin: ${origin}: the page that opened this socket; the browser sets it and the page cannot change it`,
          'a server that only serves its own pages answers other origins with 403 Forbidden (§10.2); try `wsinspect serve --allow-origin https://example.com`',
          'a non-browser client can send any Origin it likes: it protects users of browsers, not the server from programs',
        ]);
      },
    },
    {
      id: 'limit',
      task: 'Send a message bigger than this server\'s limit (1 KiB in the lesson server) and watch it refuse.',
      tryIt: { console: "ws = new WebSocket('{url}'); ws.onopen = () => ws.send('x'.repeat(5000))", cli: 'wsinspect connect {url} --send-file /etc/services' },
      detect: (event) => {
        if (event.type !== 'violation' || event.violation.closeCode !== 1009) return null;
        return evidence(event, [
          `violation: ${event.violation.message} (${event.violation.rfcSection})`,
          'the server closes with 1009 (message too big, §7.4.1) instead of buffering without end (§10.4)',
        ]);
      },
    },
  ],
  check: {
    question: 'What does the Origin header protect against?',
    choices: ['Any client that lies about where it comes from', 'A script in a browser page of another site talking to the server with the user\'s browser', 'Eavesdroppers', 'Huge messages'],
    answer: 1,
    why: 'RFC 6455 §10.2: Origin protects against untrusted JavaScript running in a trusted browser; it is not meant to stop non-browser clients.',
  },
  server: { maxMessageSize: 1024, deflate: false },
};

/** Every lesson, in the order a learner takes them. */
export const LESSONS: readonly Lesson[] = [handshake, accept, frameLengths, masking, fragmentation, pingPong, closing, utf8, extensions, security];

export function findLesson(idOrNumber: string): Lesson | undefined {
  const n = Number(idOrNumber);
  if (Number.isInteger(n) && n >= 1 && n <= LESSONS.length) return LESSONS[n - 1];
  return LESSONS.find((l) => l.id === idOrNumber);
}

/** A step's instructions with the server's URL in place of {url}. */
export function withUrl(text: string, url: string): string {
  return text.split('{url}').join(url);
}
