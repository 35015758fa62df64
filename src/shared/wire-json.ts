/**
 * JSON for trace data that keeps byte arrays: a Uint8Array (or node Buffer) becomes
 * {"$u8": "<base64>"} and comes back as a Uint8Array. Used by the web host's bridge.
 * Works in node and in the browser.
 */

import { stringifyWithBytes } from '../core/json-bytes.ts';

/** Node's Buffer when it exists (the web host): its base64 encoder is native. */
const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, offset: number, length: number): { toString(e: string): string } } }).Buffer;

function toBase64(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) binary += String.fromCharCode(...bytes.subarray(i, i + step));
  return btoa(binary);
}

export function encodeWireJson(value: unknown): string {
  return stringifyWithBytes(value, (bytes) => ({ $u8: toBase64(bytes) }));
}

export function decodeWireJson<T>(text: string): T {
  // A plain parse and one walk over objects and arrays: far cheaper than a reviver, which is
  // called for every value (every number and string of every event) of a busy batch. All the
  // byte arrays of one message are then decoded into a single buffer: one ArrayBuffer per batch
  // instead of three per frame keeps the garbage collector's work (and its pauses) down.
  const found: Array<{ holder: Record<string, unknown> | unknown[]; key: string | number; b64: string }> = [];
  const root: unknown = JSON.parse(text);
  const holder = { root };
  collectBytes(holder, 'root', root, found);
  if (found.length > 0) {
    let total = 0;
    for (const f of found) total += decodedLength(f.b64);
    const slab = new Uint8Array(total);
    let at = 0;
    for (const f of found) {
      const view = slab.subarray(at, at + decodedLength(f.b64));
      decodeBase64Into(f.b64, view);
      at += view.length;
      (f.holder as Record<string | number, unknown>)[f.key] = view;
    }
  }
  return holder.root as T;
}

/** The engine's own base64 decoder where it has one (TC39 Uint8Array base64, Chromium 14x). */
type WithSetFromBase64 = Uint8Array & { setFromBase64?: (text: string) => { read: number; written: number } };

const base64Values = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * Decodes base64 straight into `target` (exactly decodedLength(b64) bytes). Not atob: in a
 * browser every string atob returns is an external string the embedder tracks with a weak
 * handle, and three of those per frame made each major garbage collection under a flood
 * spend tens of milliseconds on them.
 */
export function decodeBase64Into(b64: string, target: Uint8Array): void {
  const native = target as WithSetFromBase64;
  if (typeof native.setFromBase64 === 'function') {
    const { written } = native.setFromBase64(b64);
    if (written !== target.length) throw new Error(`base64: decoded ${written} bytes, expected ${target.length}`);
    return;
  }
  const length = b64.length;
  if (length % 4 !== 0) throw new Error('base64: length is not a multiple of 4');
  let out = 0;
  for (let i = 0; i < length; i += 4) {
    const a = sextet(b64, i);
    const b = sextet(b64, i + 1);
    target[out++] = (a << 2) | (b >> 4);
    if (b64.charCodeAt(i + 2) === 61 /* = */) break;
    const c = sextet(b64, i + 2);
    target[out++] = ((b & 15) << 4) | (c >> 2);
    if (b64.charCodeAt(i + 3) === 61) break;
    const d = sextet(b64, i + 3);
    target[out++] = ((c & 3) << 6) | d;
  }
  if (out !== target.length) throw new Error(`base64: decoded ${out} bytes, expected ${target.length}`);
}

function sextet(b64: string, index: number): number {
  const code = b64.charCodeAt(index);
  const value = code < 128 ? base64Values[code]! : -1;
  if (value < 0) throw new Error(`base64: invalid character at ${index}`);
  return value;
}

function decodedLength(b64: string): number {
  const padding = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return (b64.length / 4) * 3 - padding;
}

function collectBytes(holder: Record<string, unknown> | unknown[], key: string | number, value: unknown, found: Array<{ holder: Record<string, unknown> | unknown[]; key: string | number; b64: string }>): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item !== null && typeof item === 'object') collectBytes(value, i, item, found);
    }
    return;
  }
  const record = value as Record<string, unknown>;
  const encoded = record['$u8'];
  if (typeof encoded === 'string') {
    found.push({ holder, key, b64: encoded });
    return;
  }
  for (const k in record) {
    const item = record[k];
    if (item !== null && typeof item === 'object') collectBytes(record, k, item, found);
  }
}
