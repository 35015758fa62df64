/**
 * A case's wire log as plain text lines, for the HTML report a person reads: the time since the
 * case began, the direction (→ to the peer, ← from it), then what happened (HTTP heads, frames
 * decoded, raw bytes in hex, notes, errors). Bounded: at most maxLines lines of at most
 * MAX_LINE characters; what is left out is counted in a last line. The text is plain: the HTML
 * report escapes it (peer data is hostile).
 */

import { describeOpcode } from '../constants.ts';
import type { WireLogEvent } from './wire-log.ts';

const MAX_LINE = 200;
const HEX_PREVIEW = 24;
const TEXT_PREVIEW = 60;

function hexPreview(bytes: Uint8Array, max = HEX_PREVIEW): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > max ? `${shown} …` : shown;
}

/** Printable ASCII shown as text, anything else as hex. */
function payloadPreview(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  const printable = bytes.subarray(0, TEXT_PREVIEW).every((b) => b >= 0x20 && b < 0x7f);
  if (printable) return `"${String.fromCharCode(...bytes.subarray(0, TEXT_PREVIEW))}${bytes.length > TEXT_PREVIEW ? '…' : ''}"`;
  return hexPreview(bytes);
}

const arrow = (direction: 'in' | 'out') => (direction === 'out' ? '→' : '←');

function describe(event: WireLogEvent): string[] {
  switch (event.type) {
    case 'connection-opened':
      return [`connection ${event.local} ⇄ ${event.remote}${event.url ? ` (${event.url})` : ''}`];
    case 'bytes':
      return [`${arrow(event.direction)} ${event.bytes.length + (event.omittedBytes ?? 0)} octets: ${hexPreview(event.bytes)}${event.omittedBytes ? ` (${event.omittedBytes} not kept)` : ''}`];
    case 'http-head':
      return [`${arrow(event.direction)} ${event.head.startLine}`, ...event.head.headers.slice(0, 20).map((h) => `    ${h.name}: ${h.value}`)];
    case 'handshake':
      return [`opening handshake ${event.ok ? 'accepted' : 'refused'} (${event.status})${event.error ? `: ${event.error.message} (${event.error.rfcSection})` : ''}`];
    case 'frame': {
      const f = event.frame;
      const rsv = `${f.rsv1 ? 1 : 0}${f.rsv2 ? 1 : 0}${f.rsv3 ? 1 : 0}`;
      return [`${arrow(event.direction)} frame ${describeOpcode(f.opcode).name} fin=${f.fin ? 1 : 0} rsv=${rsv} mask=${f.masked ? 1 : 0} len=${f.payloadLength} ${payloadPreview(f.payload)}`.trimEnd()];
    }
    case 'note':
      return [`· ${event.text}`];
    case 'error':
      return [`! ${event.message}`];
    case 'connection-closed':
      return [`connection closed: ${event.detail}`];
    default:
      return [`${event.type}`];
  }
}

export function wireLogLines(events: readonly WireLogEvent[], maxLines = 150): string[] {
  const lines: string[] = [];
  const t0 = events[0]?.time ?? 0;
  let left = 0;
  for (const event of events) {
    const at = `+${(event.time - t0).toFixed(1)} ms`.padStart(12);
    for (const text of describe(event)) {
      if (lines.length >= maxLines) {
        left++;
        continue;
      }
      const line = `${at}  ${text}`;
      lines.push(line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line);
    }
  }
  if (left > 0) lines.push(`… ${left} more line${left === 1 ? '' : 's'} (the JSON report has the whole wire log)`);
  return lines;
}
