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

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
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
  // called for every value (every number and string of every event) of a busy batch.
  return reviveBytes(JSON.parse(text)) as T;
}

function reviveBytes(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item !== null && typeof item === 'object') value[i] = reviveBytes(item);
    }
    return value;
  }
  const record = value as Record<string, unknown>;
  const encoded = record['$u8'];
  if (typeof encoded === 'string') return fromBase64(encoded);
  for (const key in record) {
    const item = record[key];
    if (item !== null && typeof item === 'object') record[key] = reviveBytes(item);
  }
  return record;
}
