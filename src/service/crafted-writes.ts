/**
 * The crafter's TCP writes, said in the trace: "crafted frame: 3 TCP writes, 1 + 1 + 7 bytes,
 * 50 ms apart". The same cut as Connection.writeCrafted makes (sizes past the frame's end are
 * dropped, the rest goes in one last write).
 */
export function craftedWritesNote(total: number, sizes: readonly number[], delayMs: number): string {
  const parts: number[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= total) break;
    if (size <= 0) continue;
    parts.push(Math.min(size, total - at));
    at += size;
  }
  if (at < total || parts.length === 0) parts.push(total - at);
  const apart = parts.length > 1 && delayMs > 0 ? `, ${delayMs} ms apart` : '';
  return `crafted frame: ${parts.length} TCP write${parts.length === 1 ? '' : 's'}, ${parts.join(' + ')} bytes${apart}`;
}
