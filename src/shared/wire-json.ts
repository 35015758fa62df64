/**
 * JSON for trace data that keeps byte arrays: a Uint8Array (or node Buffer) becomes
 * {"$u8": "<base64>"} and comes back as a Uint8Array. Used by the web host's bridge.
 * Works in node and in the browser (btoa/atob are global in both).
 */

function toBase64(bytes: Uint8Array): string {
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
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && '$u8' in value && typeof (value as { $u8: unknown }).$u8 === 'string') {
      return fromBase64((value as { $u8: string }).$u8);
    }
    return value;
  }) as T;
}
