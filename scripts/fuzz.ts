/**
 * npm run fuzz — pushes a million frames (valid, mutated and random) through the FrameParser and
 * through WebSocketProtocol in both roles (after a valid opening handshake), cut into random
 * chunks. Reports frames/s, violations by code, and heap growth; exits 1 on any unexpected
 * exception (anything but a ProtocolViolation out of the parser, anything at all out of
 * receiveData), on a single feed that takes over a second, or on retained-heap growth past the bound.
 *
 *   FUZZ_FRAMES       how many frames (default 1000000)
 *   FUZZ_SEED         PRNG seed, to reproduce a run (default: random, printed)
 *   FUZZ_MAX_HEAP_MB  fail if the heap retained after GC grows more than this (default 64)
 *   FUZZ_JSON=1       end with one JSON line of the figures (for tests)
 *   FUZZ_INJECT_FAULT=1  make one receiveData throw a TypeError (tests that the harness fails)
 *
 * Run with `node --expose-gc --import tsx scripts/fuzz.ts` (what `npm run fuzz` does) so the
 * heap can be measured after garbage collection; without --expose-gc the bound is not checked.
 */

import { concatBytes, toHex } from '../src/core/bytes.ts';
import { Opcode } from '../src/core/constants.ts';
import { ProtocolViolation } from '../src/core/errors.ts';
import { encodeClosePayload, encodeFrame, FrameParser, type FrameSpec } from '../src/core/frame-codec.ts';
import { WebSocketProtocol } from '../src/core/protocol.ts';

type Role = 'server' | 'client';

const totalFrames = Number(process.env['FUZZ_FRAMES'] ?? 1_000_000);
const seed = Number(process.env['FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const maxHeapGrowthMb = Number(process.env['FUZZ_MAX_HEAP_MB'] ?? 64);
const gc = (globalThis as { gc?: () => void }).gc;

// ------------------------------------------------------------------ seeded PRNG (mulberry32)

let state = seed >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(rand() * n);
const chance = (p: number) => rand() < p;
function bytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const r = (rand() * 4294967296) >>> 0;
    out[i] = r;
    if (i + 1 < n) out[i + 1] = r >>> 8;
    if (i + 2 < n) out[i + 2] = r >>> 16;
    if (i + 3 < n) out[i + 3] = r >>> 24;
  }
  return out;
}
/** Mostly small payloads, sometimes medium, rarely up to 70 kB (the 16- and 64-bit length encodings). */
function payloadLength(): number {
  const r = rand();
  if (r < 0.9) return int(200);
  if (r < 0.995) return int(4096);
  return int(70_000);
}

// ------------------------------------------------------------------ inputs

/** A valid batch of frames for the endpoint of `role` to read (masked for a server, §5.1). */
function validBatch(role: Role, count: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const mask = () => (role === 'server' ? bytes(4) : null);
  const emit = (spec: FrameSpec) => frames.push(encodeFrame({ ...spec, maskKey: mask() }));
  while (frames.length < count) {
    const r = rand();
    if (r < 0.1) {
      emit({ opcode: chance(0.5) ? Opcode.Ping : Opcode.Pong, payload: bytes(int(126)) });
    } else if (r < 0.12 && frames.length === count - 1) {
      emit({ opcode: Opcode.Close, payload: encodeClosePayload(1000 + int(4), 'bye') });
    } else {
      const text = chance(0.5);
      const data = text ? new TextEncoder().encode('héllo wörld ✓ '.repeat(1 + int(10)).slice(0, payloadLength())) : bytes(payloadLength());
      const pieces = Math.min(count - frames.length, 1 + (chance(0.3) ? int(4) : 0));
      const size = Math.ceil(data.length / pieces);
      for (let i = 0; i < pieces; i++) {
        emit({ opcode: i === 0 ? (text ? Opcode.Text : Opcode.Binary) : Opcode.Continuation, payload: data.subarray(i * size, (i + 1) * size), fin: i === pieces - 1 });
      }
    }
  }
  return frames;
}

function mutate(input: Uint8Array): Uint8Array {
  let b: Uint8Array = input.slice();
  for (let m = 1 + int(4); m > 0 && b.length > 0; m--) {
    const at = int(b.length);
    const r = rand();
    if (r < 0.4) b[at] = b[at]! ^ (1 << int(8));
    else if (r < 0.55) b[at] = [0x00, 0x7e, 0x7f, 0x80, 0xff, 0x88, 0x0f][int(7)]!;
    else if (r < 0.65) b = b.slice(0, at);
    else if (r < 0.8) b = concatBytes([b.subarray(0, at), bytes(1 + int(16)), b.subarray(at)]);
    else if (r < 0.9) b = concatBytes([b.subarray(0, at), b.subarray(at + 1 + int(16))]);
    else {
      const piece = b.slice(at, at + 1 + int(200));
      const to = int(b.length + 1);
      b = concatBytes([b.subarray(0, to), piece, b.subarray(to)]);
    }
  }
  return b;
}

/** Random frames with plausible headers whose declared lengths may lie (up to 2^53). */
function frameLikeBatch(count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const lies = chance(0.2);
    out.push(encodeFrame({
      opcode: chance(0.9) ? [0, 1, 2, 8, 9, 10][int(6)]! : int(16), fin: chance(0.8),
      rsv1: chance(0.05), rsv2: chance(0.05), rsv3: chance(0.05),
      maskKey: chance(0.5) ? bytes(4) : null, payload: bytes(int(300)),
      ...(lies ? { declaredLength: chance(0.5) ? int(400) : [65_535, 65_536, 2 ** 31, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER][int(6)]! } : {}),
    }));
  }
  return out;
}

function chunks(input: Uint8Array): Uint8Array[] {
  const r = rand();
  if (r < 0.3 || input.length < 2) return [input];
  const out: Uint8Array[] = [];
  const max = r < 0.5 ? 4 : r < 0.8 ? 64 : 1024;
  for (let at = 0; at < input.length;) {
    const n = 1 + int(max);
    out.push(input.subarray(at, at + n));
    at += n;
  }
  return out;
}

// ------------------------------------------------------------------ targets

const request = new TextEncoder().encode(
  'GET / HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
);
const response = new TextEncoder().encode(
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
);

let traced = 0;
function openProtocol(role: Role): WebSocketProtocol {
  // Every tenth connection traces (the trace paths run too), and some have small limits.
  const small = chance(0.2);
  const p = new WebSocketProtocol({
    role, key: 'dGhlIHNhbXBsZSBub25jZQ==',
    ...(chance(0.1) ? { trace: () => void traced++ } : {}),
    ...(small ? { maxMessageSize: 1 + int(5000), maxFrameSize: 1 + int(3000), maxFragments: 1 + int(8) } : {}),
  });
  if (role === 'client') {
    p.connect();
    p.receiveData(response);
  } else {
    p.receiveData(request);
  }
  p.events();
  p.dataToSend();
  if (p.state !== 'OPEN') throw new Error(`fuzz harness: the ${role} handshake did not open`);
  return p;
}

const violations = new Map<string, number>();
const count = (key: string) => violations.set(key, (violations.get(key) ?? 0) + 1);
const unexpected: string[] = [];
const slowFeeds: string[] = [];

function report(where: string, error: unknown, input: Uint8Array): void {
  const what = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
  if (unexpected.length < 5) unexpected.push(`${where}: ${what}\n  input (${input.length} bytes): ${toHex(input.subarray(0, 64), ' ')}${input.length > 64 ? ' …' : ''}`);
  else unexpected.push(where);
}

/** A batch (at most 16 frames) that takes over a second to feed means something spins. */
function timed(where: string, input: Uint8Array, fn: () => void): void {
  const start = performance.now();
  fn();
  const ms = performance.now() - start;
  if (ms > 1000) slowFeeds.push(`${where}: ${input.length} bytes took ${ms.toFixed(0)} ms (FUZZ_SEED=${seed})`);
}

if (process.env['FUZZ_INJECT_FAULT'] === '1') {
  const original = WebSocketProtocol.prototype.receiveData;
  let calls = 0;
  WebSocketProtocol.prototype.receiveData = function (this: WebSocketProtocol, data: Uint8Array) {
    if (++calls === 1000) throw new TypeError('injected fault');
    original.call(this, data);
  };
}

const parser = new FrameParser({ keepRaw: false });
const protocols: Record<Role, WebSocketProtocol> = { server: openProtocol('server'), client: openProtocol('client') };

/** The bare parser has no limits (the protocol applies them at the header): past this, it gives up on the frame. */
const parserFrameBound = 1 << 20;

function feedParser(input: Uint8Array, pieces: Uint8Array[]): void {
  const header = parser.currentHeader();
  if (header && header.payloadLength > parserFrameBound) {
    count(`parser: frame declaring ${header.payloadLength > 2 ** 32 ? 'over 4 GiB' : 'over 1 MiB'} abandoned (a protocol refuses it at its header)`);
    parser.reset();
  }
  for (const piece of pieces) {
    try {
      parser.feed(piece, () => {});
    } catch (error) {
      if (error instanceof ProtocolViolation) {
        count(`parser ${error.code} (${error.closeCode})`);
        parser.reset();
        return;
      }
      report('FrameParser.feed threw', error, input);
      parser.reset();
      return;
    }
  }
}

function feedProtocol(role: Role, input: Uint8Array, pieces: Uint8Array[]): void {
  let p = protocols[role];
  if (p.state !== 'OPEN' || p.transportAction !== 'none') p = protocols[role] = openProtocol(role);
  for (const piece of pieces) {
    try {
      p.receiveData(piece);
    } catch (error) {
      report(`${role} WebSocketProtocol.receiveData threw`, error, input);
      protocols[role] = openProtocol(role);
      return;
    }
    for (const event of p.events()) if (event.type === 'violation') count(`${role} ${event.violation.code} (${event.violation.closeCode})`);
    p.dataToSend();
  }
}

// ------------------------------------------------------------------ run

function retainedHeap(): number {
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

console.log(`fuzz: ${totalFrames} frames, seed ${seed}${gc ? '' : ' (no --expose-gc: heap growth measured without forcing GC, not checked)'}`);
const baseline = retainedHeap();
let maxGrowth = 0;
let frames = 0;
let bytesFed = 0;
let nextSample = 0;
const sampleEvery = Math.max(1000, Math.floor(totalFrames / 20));
const kinds = { valid: 0, mutated: 0, random: 0 };
const started = performance.now();

while (frames < totalFrames) {
  const role: Role = chance(0.5) ? 'server' : 'client';
  const n = Math.min(totalFrames - frames, 1 + int(16));
  const r = rand();
  let input: Uint8Array;
  if (r < 0.45) {
    input = concatBytes(validBatch(role, n));
    kinds.valid += n;
  } else if (r < 0.85) {
    input = mutate(concatBytes(validBatch(role, n)));
    kinds.mutated += n;
  } else {
    input = chance(0.5) ? bytes(n * (1 + int(40))) : mutate(concatBytes(frameLikeBatch(n)));
    kinds.random += n;
  }
  frames += n;
  bytesFed += input.length;
  const pieces = chunks(input);
  timed('parser', input, () => feedParser(input, pieces));
  timed(`${role} protocol`, input, () => feedProtocol(role, input, pieces));
  if (frames >= nextSample) {
    nextSample += sampleEvery;
    maxGrowth = Math.max(maxGrowth, retainedHeap() - baseline);
    if (frames > 0 && totalFrames >= 200_000) console.log(`  ${frames} frames, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

const seconds = (performance.now() - started) / 1000;
maxGrowth = Math.max(maxGrowth, retainedHeap() - baseline);
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
const framesPerSecond = Math.round(frames / seconds);

console.log(`\n${frames} frames (${kinds.valid} valid, ${kinds.mutated} mutated, ${kinds.random} random), ${mb(bytesFed)} MB, in ${seconds.toFixed(1)} s: ${framesPerSecond.toLocaleString('en-US')} frames/s (each through the parser and a protocol)`);
console.log(`max retained heap growth: ${mb(maxGrowth)} MB${gc ? ` (after GC; bound ${maxHeapGrowthMb} MB)` : ' (without GC)'}; peak RSS ${mb(process.memoryUsage().rss)} MB; ${traced} trace events`);
console.log('violations by code:');
for (const [key, n] of [...violations.entries()].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(8)}  ${key}`);

let failed = false;
if (unexpected.length > 0) {
  failed = true;
  console.log(`\nUNEXPECTED EXCEPTIONS: ${unexpected.length} (reproduce with FUZZ_SEED=${seed} FUZZ_FRAMES=${totalFrames})`);
  for (const u of unexpected.slice(0, 5)) console.log(`  ${u}`);
}
if (slowFeeds.length > 0) {
  failed = true;
  console.log(`\nSLOW FEEDS: ${slowFeeds.length}\n  ${slowFeeds.slice(0, 5).join('\n  ')}`);
}
if (gc && maxGrowth > maxHeapGrowthMb * 1024 * 1024) {
  failed = true;
  console.log(`\nHEAP GREW ${mb(maxGrowth)} MB, over the ${maxHeapGrowthMb} MB bound`);
}
if (process.env['FUZZ_JSON'] === '1') {
  console.log(JSON.stringify({
    frames, seconds, framesPerSecond, bytes: bytesFed, seed, maxHeapGrowthBytes: maxGrowth, gc: Boolean(gc),
    unexpected: unexpected.length, slowFeeds: slowFeeds.length, violations: Object.fromEntries(violations),
  }));
}
console.log(failed ? '\nfuzz: FAILED' : '\nfuzz: ok');
process.exitCode = failed ? 1 : 0;
