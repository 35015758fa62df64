/**
 * wsinspect's fault injection: list the presets, fire them at a connection and print expected
 * against actual, and send crafted hex in timed TCP writes.
 */
import { fromHex } from '../core/bytes.ts';
import { faultPresets, findPreset, presetApplies, type FaultPreset } from '../core/faults.ts';
import type { Connection } from '../core/net/connection.ts';
import { faultContext, fireFault, traceCraftedFrames } from '../core/net/fault-runner.ts';
import type { Tracer } from '../core/trace.ts';
import { FrameParser } from '../core/frame-codec.ts';

/** The catalogue, grouped by RFC section. */
export function presetCatalogue(): string {
  const lines: string[] = [];
  let group = '';
  for (const p of faultPresets) {
    if (p.group !== group) {
      group = p.group;
      lines.push('', group);
    }
    lines.push(`  ${p.id.padEnd(30)} ${p.title}`, `  ${''.padEnd(30)} expected: ${p.expectedText}`);
    const needs = needsNote(p);
    if (needs) lines.push(`  ${''.padEnd(30)} ${needs}`);
  }
  lines.push('', `${faultPresets.length} presets. Fire one with: wsinspect connect <url> --preset ID (or serve --preset ID)`);
  return lines.join('\n').trimStart();
}

/** When a preset can be fired, if not on every connection. */
function needsNote(p: FaultPreset): string | null {
  if (p.needs === 'no-extension') return 'only without an extension: with permessage-deflate agreed RSV1 means "compressed" (add --no-deflate where the peer would agree to it)';
  if (p.needs === 'permessage-deflate') return 'only where permessage-deflate was agreed (on by default; the peer must accept it)';
  return null;
}

/** Checks preset ids up front, so a typo is one plain line, not a half-run session. */
export function checkPresetIds(ids: readonly string[]): string | null {
  const unknown = ids.filter((id) => !findPreset(id));
  return unknown.length ? `unknown preset${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (see: wsinspect presets)` : null;
}

/** Fires presets one after another; returns true when every reaction was the RFC's. */
export async function firePresets(conn: Connection, ids: readonly string[], tracer: Tracer, print: (line: string) => void): Promise<boolean> {
  let allAsExpected = true;
  for (const id of ids) {
    const preset = findPreset(id)!;
    if (conn.state !== 'OPEN') {
      print(`- ${id}: not fired, the connection is ${conn.state}`);
      allAsExpected = false;
      continue;
    }
    const applies = presetApplies(preset, faultContext(conn));
    if (!applies.ok) {
      print(`- ${id}: not fired: ${applies.reason}`);
      allAsExpected = false;
      continue;
    }
    const r = await fireFault(conn, preset, tracer);
    if (!r.asExpected) allAsExpected = false;
    print(`${r.asExpected ? '✓' : '✗'} ${id} (${r.rfcSection}) ${r.title}\n    expected: ${r.expectedText}\n    actual:   ${r.actualText}`);
  }
  return allAsExpected;
}

export function parseSizes(value: string | undefined): number[] {
  if (!value) return [];
  const sizes = value.split(/[\s,]+/).filter(Boolean).map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--split takes byte counts like "1,1,2" (got "${value}")`);
  return sizes;
}

/** Sends hex bytes as they are (valid or not), split into TCP writes with a delay between them. */
export async function sendHex(conn: Connection, hex: string, sizes: number[], delayMs: number): Promise<void> {
  const bytes = fromHex(hex);
  traceCraftedFrames(conn, bytes);
  noteCraftedCloses(conn, bytes);
  await conn.writeCrafted(bytes, { chunks: sizes, delayMs }, false);
}

/**
 * A complete Close frame among crafted bytes starts (or answers) the closing handshake: the
 * protocol is told, so the peer's answering Close is not answered with a second one. A Close
 * cut short (half a frame) is not a Close the peer can read, and does not count.
 */
function noteCraftedCloses(conn: Connection, bytes: Uint8Array): void {
  const parser = new FrameParser({ keepRaw: false });
  try {
    parser.feed(bytes, (event) => {
      if (event.kind === 'frame' && event.frame.header.opcode === 8 && event.frame.header.fin) conn.protocol.noteRawCloseSent(event.frame.payload);
    });
  } catch {
    // Bytes framing cannot represent: no Close the peer could read there.
  }
}
