/**
 * `wsinspect open capture.pcap|capture.pcapng`: the WebSocket conversations of a tcpdump, dumpcap
 * or Wireshark capture, each replayed through our parser and printed as an annotated trace
 * (--trace pretty, the default) or JSON lines (--trace jsonl), then each side's behaviour judged.
 *
 * The file streams (1 MiB at a time); a conversation is printed when it ends (TCP closed, or the
 * capture ended) and then dropped, so memory holds only the conversations still open. A damaged or
 * truncated file prints everything read before the damage, then one line saying where it is.
 */

import { stat } from 'node:fs/promises';
import type { CaptureSummary } from '../core/capture/capture-dissector.ts';
import { dissectCaptureFile, dissectCaptureFileSync } from '../core/capture/pcap/read-file.ts';
import { isPcapng } from '../core/capture/pcap/pcapng.ts';
import { pcapMagic } from '../core/capture/pcap/pcap.ts';
import { CaptureRecordingBuilder, recordingCollector, replayCaptured, type CapturedConnection } from '../core/capture/pcap/to-recording.ts';
import { SideVerdict } from '../core/capture/side-verdict.ts';
import { formatEndpoint, type Recording } from '../core/capture/recording.ts';
import { traceWriter } from './trace-output.ts';

export interface OpenCaptureOptions {
  trace: 'pretty' | 'jsonl';
  /** --full-payloads: JSON lines carry whole payloads (else cut for display, as in the app). */
  fullPayloads?: boolean;
  /** Where text goes (default stdout). */
  write?: (text: string) => void;
  /** Progress lines (default: on stderr when it is a terminal). */
  progress?: (text: string) => void;
  /** Where the one-line error goes (default stderr). */
  error?: (text: string) => void;
}

/** True when the file's first bytes are a pcap or pcapng magic number. */
export function looksLikeCapture(firstBytes: Uint8Array): boolean {
  return isPcapng(firstBytes) || pcapMagic(firstBytes) !== null;
}

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n} bytes`;
}

/** Prints the capture; returns the exit code (0 read whole, 1 damaged or truncated after some packets, 2 unreadable). */
export async function openCapture(file: string, options: OpenCaptureOptions): Promise<number> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const error = options.error ?? ((text: string) => process.stderr.write(text));
  const print = traceWriter(options.trace, options.fullPayloads ?? false, options.write)!;
  let seq = 1;
  let count = 0;

  const show = (captured: CapturedConnection) => {
    count++;
    const conn = captured.connection;
    const info = captured.info;
    const verdict = new SideVerdict();
    if (options.trace === 'pretty') {
      write(`\n━━ WebSocket conversation ${info.id}: client ${formatEndpoint(conn.client)} → server ${formatEndpoint(conn.server)}${conn.url ? ` (${conn.url})` : ''}, ${info.handshake === 'seen' ? 'opening handshake in the capture' : 'handshake NOT in the capture (resynchronised mid-stream)'}\n`);
    }
    for (const event of replayCaptured(captured, { startSeq: seq })) {
      seq = event.seq + 1;
      verdict.add(event);
      print(event);
    }
    if (options.trace === 'pretty') write(`── verdict, conversation ${info.id}\n${verdict.lines().map((l) => `   ${l}`).join('\n')}\n`);
  };

  let size = 0;
  try {
    size = (await stat(file)).size;
  } catch (failure) {
    error(`wsinspect: cannot read ${JSON.stringify(file)}: ${(failure as NodeJS.ErrnoException).code ?? (failure as Error).message}\n`);
    return 2;
  }
  const builder = new CaptureRecordingBuilder(show);
  const progress = options.progress ?? (process.stderr.isTTY ? (text: string) => process.stderr.write(`\r${text}`) : undefined);
  let lastProgress = 0;
  const summary = await dissectCaptureFile(file, (event) => builder.handle(event), {
    onProgress: ({ bytesRead, totalBytes }) => {
      const now = Date.now();
      if (!progress || (now - lastProgress < 500 && bytesRead < totalBytes)) return;
      lastProgress = now;
      progress(`reading ${file}: ${Math.floor((bytesRead / Math.max(1, totalBytes)) * 100)}% (${mib(bytesRead)} of ${mib(totalBytes)})`);
    },
  });
  if (progress && size > 0) progress('\n');
  if (options.trace === 'jsonl') {
    write(JSON.stringify({ type: 'capture-summary', file, ...summaryJson(summary), websocketConversations: count }) + '\n');
  } else {
    write(`\n${summaryLines(file, summary, count).join('\n')}\n`);
  }
  if (summary.error) {
    error(`wsinspect: ${file}: ${summary.error}${summary.packets > 0 ? ` (the ${summary.packets} packets before it were read and are shown above)` : ''}\n`);
    return summary.packets > 0 ? 1 : 2;
  }
  return 0;
}

function summaryJson(s: CaptureSummary) {
  return { format: s.format, packets: s.packets, bytes: s.bytes, error: s.error, notes: s.notes, linkTypes: s.linkTypes, skipped: s.skipped, tcp: s.tcp, ipFragments: s.ipFragments, discovery: s.discovery };
}

function summaryLines(file: string, s: CaptureSummary, shown: number): string[] {
  const lines = [`━━ ${file}: ${s.format ?? 'not a capture'}, ${s.packets} packets, ${mib(s.bytes)}${s.linkTypes.length ? `, link type ${s.linkTypes.join(', ')}` : ''}`];
  lines.push(`   ${s.discovery.tcpConversations} TCP conversation${s.discovery.tcpConversations === 1 ? '' : 's'}, ${shown} WebSocket (found by their HTTP Upgrade, on any port, or resynchronised mid-stream)`);
  const ignored = Object.entries(s.discovery.ignored);
  if (ignored.length) lines.push(`   not WebSocket: ${ignored.map(([why, n]) => `${n} ${why}`).join('; ')}`);
  if (s.tcp.retransmittedBytes || s.tcp.gapBytes) lines.push(`   TCP: ${s.tcp.retransmittedBytes} bytes retransmitted (first copy kept), ${s.tcp.gapBytes} bytes missing from the capture (shown as gaps)`);
  const f = s.ipFragments;
  if (f.fragments) lines.push(`   IP fragments: ${f.fragments} in all, ${f.reassembled} datagram${f.reassembled === 1 ? '' : 's'} reassembled${f.givenUp ? `, ${f.givenUp} given up` : ''}${f.lateDuplicates ? `, ${f.lateDuplicates} late duplicate${f.lateDuplicates === 1 ? '' : 's'} dropped` : ''}`);
  const skipped = Object.entries(s.skipped);
  if (skipped.length) lines.push(`   packets not read as TCP: ${skipped.map(([why, n]) => `${n} ${why}`).join('; ')}`);
  for (const note of s.notes) lines.push(`   note: ${note}`);
  return lines;
}

/** The entry of `wsinspect open`'s table of file kinds (src/cli/open.ts). */
export const captureFileOpener = {
  name: 'pcap/pcapng capture',
  matches: looksLikeCapture,
  open: (path: string, options: { trace: 'pretty' | 'jsonl'; fullPayloads: boolean }) => openCapture(path, { trace: options.trace, fullPayloads: options.fullPayloads }),
};

/**
 * A capture as one Recording, for `wsinspect export` (src/cli/open.ts's recordingLoaders): every
 * WebSocket conversation, held in memory together, so this is for files that fit in it.
 */
export function loadCaptureRecording(path: string): { recording: Recording; error: string | null; kind: string } {
  const collector = recordingCollector();
  const summary = dissectCaptureFileSync(path, collector.handle);
  return { recording: collector.recording(), error: summary.error, kind: 'pcap' };
}

export const captureRecordingLoader = { name: 'pcap/pcapng capture', matches: looksLikeCapture, load: loadCaptureRecording };
