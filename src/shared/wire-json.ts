/**
 * JSON for trace data that keeps byte arrays: a Uint8Array (or node Buffer) becomes
 * {"$u8": "<base64>"} and comes back as a Uint8Array. Used by the web host's bridge.
 * Works in node and in the browser (btoa/atob are global in both).
 */

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
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, replaced: unknown) {
    // Read the original: Buffer.toJSON has already run on `replaced`.
    const original = this[key];
    if (original instanceof Uint8Array) return { $u8: toBase64(original) };
    return replaced;
  });
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
      const binary = atob(f.b64);
      const view = slab.subarray(at, at + binary.length);
      for (let i = 0; i < binary.length; i++) view[i] = binary.charCodeAt(i);
      at += binary.length;
      (f.holder as Record<string | number, unknown>)[f.key] = view;
    }
  }
  return holder.root as T;
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
