/**
 * JSON.stringify for values holding byte arrays (trace events): each Uint8Array, node Buffers
 * included, becomes what `encode` makes of it ({"hex": …} for the CLI's trace lines, {"$u8": …}
 * for the page's wire JSON). An object or array holding byte arrays is replaced by a shallow copy
 * holding the encoded form before JSON.stringify reaches its bytes: a node Buffer's toJSON would
 * otherwise first build an array of every byte (for a 16 KiB frame, milliseconds per event).
 */
export function stringifyWithBytes(value: unknown, encode: (bytes: Uint8Array) => unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, replaced: unknown) {
    // Read the original: a Buffer's toJSON has already run on `replaced` (only a top-level one gets here).
    const original = this[key];
    if (original instanceof Uint8Array) return encode(original);
    return replaced !== null && typeof replaced === 'object' ? withBytesEncoded(replaced, encode) : replaced;
  });
}

function withBytesEncoded(holder: object, encode: (bytes: Uint8Array) => unknown): object {
  if (Array.isArray(holder)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < holder.length; i++) {
      const item: unknown = holder[i];
      if (!(item instanceof Uint8Array)) continue;
      copy ??= holder.slice();
      copy[i] = encode(item);
    }
    return copy ?? holder;
  }
  if (holder instanceof Uint8Array) return holder;
  const record = holder as Record<string, unknown>;
  let copy: Record<string, unknown> | null = null;
  for (const k in record) {
    if (!Object.prototype.hasOwnProperty.call(record, k)) continue;
    const item = record[k];
    if (!(item instanceof Uint8Array)) continue;
    copy ??= { ...record };
    copy[k] = encode(item);
  }
  return copy ?? holder;
}
