/**
 * The human-readable trace: one block per event, frames annotated field by field.
 * Colour only on a terminal (and never with NO_COLOR).
 */

import { toHex, utf8DecodeLenient } from '../core/bytes.ts';
import { describeCloseCode, describeOpcode } from '../core/constants.ts';
import type { TraceEvent, TracedExtensionNegotiation, TracedFrame } from '../core/trace.ts';
import { tlsSummary } from '../core/tls-explain.ts';
import type { TlsCertificateInfo, TlsInfo } from '../core/tls-types.ts';

export interface PrettyOptions {
  color: boolean;
  /** Show at most this many payload bytes in hex and text. */
  maxPreview?: number;
}

type Paint = (s: string) => string;

function palette(color: boolean) {
  const wrap = (code: number): Paint => (color ? (s) => `\x1b[${code}m${s}\x1b[0m` : (s) => s);
  return { dim: wrap(2), bold: wrap(1), red: wrap(31), green: wrap(32), yellow: wrap(33), blue: wrap(34), magenta: wrap(35), cyan: wrap(36) };
}

function clock(time: number): string {
  const d = new Date(time);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function quote(text: string, max: number): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(shown);
}

export function createPrettyPrinter(options: PrettyOptions): (event: TraceEvent) => string | null {
  const c = palette(options.color);
  const max = options.maxPreview ?? 64;
  const indent = ' '.repeat(28);

  const arrow = (direction: 'in' | 'out') => (direction === 'in' ? c.cyan('←') : c.magenta('→'));

  function frameLines(direction: 'in' | 'out', f: TracedFrame): string[] {
    const op = describeOpcode(f.opcode);
    const flags = [
      f.fin ? 'FIN' : c.yellow('no FIN (more fragments)'),
      // RFC 7692 §6: on a compressed message's first frame, RSV1 is the "Per-Message Compressed" bit.
      f.deflate?.first && f.rsv1 && !f.rsv2 && !f.rsv3 ? c.green('RSV1=compressed (permessage-deflate)')
        : f.rsv1 || f.rsv2 || f.rsv3 ? c.red(`RSV=${+f.rsv1}${+f.rsv2}${+f.rsv3}`) : null,
      f.masked ? `masked key=${f.maskKey ? toHex(f.maskKey) : '?'}` : 'unmasked',
    ].filter(Boolean).join(' ');
    const lengthEncoding = f.lengthField === 126 ? '16-bit' : f.lengthField === 127 ? '64-bit' : '7-bit';
    const title = `${arrow(direction)} ${c.bold(`frame #${f.frameId}`)} ${c.bold(op.name.toUpperCase())} ${flags} len=${f.payloadLengthExact ?? f.payloadLength} (${lengthEncoding})${f.partial ? c.red(' [incomplete]') : ''}`;
    const lines = [title];
    const head = f.raw.subarray(0, Math.min(f.raw.length, f.headerLength));
    const payloadHex = f.raw.subarray(f.headerLength, f.headerLength + Math.min(max, f.raw.length - f.headerLength));
    const more = f.raw.length - f.headerLength > max ? ` … (+${f.raw.length - f.headerLength - max} bytes)` : '';
    lines.push(`${c.dim('wire')}    ${c.yellow(toHex(head, ' '))}${payloadHex.length ? ' ' + toHex(payloadHex, ' ') : ''}${more}`);
    const bits = `FIN=${+f.fin} RSV1-3=${+f.rsv1}${+f.rsv2}${+f.rsv3} opcode=0x${f.opcode.toString(16).toUpperCase()} (${op.name}) MASK=${+f.masked} payload len=${f.lengthField}`;
    lines.push(`${c.dim('fields')}  ${bits}${f.lengthField >= 126 ? ` → extended ${f.payloadLengthExact ?? f.payloadLength}` : ''}${f.maskKey ? ` masking-key=${toHex(f.maskKey, ' ')}` : ''}`);
    if (f.close) {
      const info = f.close.code === null ? 'no status code' : `${f.close.code} ${describeCloseCode(f.close.code).name}`;
      lines.push(`${c.dim('close')}   ${info}${f.close.reason ? ` reason ${quote(f.close.reason, max)}` : ''}`);
    } else if (f.deflate) {
      // A compressed frame: the wire payload is DEFLATE data; show it, then what it inflates to.
      const d = f.deflate;
      const preview = f.payload.subarray(0, max);
      lines.push(`${c.dim('deflate')} ${toHex(preview, ' ')}${f.payload.length > max ? ' …' : ''} ${c.dim(`(${f.payload.length} compressed byte${f.payload.length === 1 ? '' : 's'}${f.masked ? ', unmasked' : ''})`)}`);
      if (d.tail) lines.push(`${c.dim('tail')}    ${c.dim(d.tail === 'stripped' ? '00 00 ff ff stripped from the end before sending (RFC 7692 §7.2.1)' : '00 00 ff ff appended before inflating (RFC 7692 §7.2.2)')}`);
      const plain = d.inflated.subarray(0, max);
      const shown = f.opcode === 2 || hasControlBytes(plain) ? toHex(plain, ' ') : quote(utf8DecodeLenient(plain), max);
      lines.push(`${c.dim('plain')}   ${shown}${d.inflatedLength > max ? ' …' : ''} ${c.dim(`(${d.inflatedLength} bytes ${direction === 'in' ? 'inflated' : 'before compression'})`)}`);
    } else if (f.payload.length > 0) {
      const preview = f.payload.subarray(0, max);
      if (f.opcode === 1 || (f.opcode === 0 && !hasControlBytes(preview))) {
        lines.push(`${c.dim('payload')} ${quote(utf8DecodeLenient(preview), max)}${f.payload.length > max ? ' …' : ''}`);
      } else if (f.masked) {
        lines.push(`${c.dim('payload')} ${toHex(preview, ' ')}${f.payload.length > max ? ' …' : ''} ${c.dim('(unmasked)')}`);
      } else if (!f.masked) {
        // the wire line already shows it
      }
      if (f.masked && (f.opcode === 1 || f.opcode === 0)) lines.push(`${c.dim('unmask')}  ${c.dim('each payload byte XOR key[i mod 4] (§5.3)')}`);
    }
    if (f.violation) lines.push(c.red(`✗ ${f.violation.code} (${f.violation.rfcSection}): ${f.violation.message}`));
    // A proxy's copy of a frame from the other leg (src/core/proxy/frame-pairing.ts).
    if (f.relay) lines.push(`${c.dim('relay')}   copy of ${f.relay.from.connectionId} frame #${f.relay.from.frameId}, ${formatDelay(f.relay.delayUs)} later`);
    return lines;
  }

  /** Sec-WebSocket-Extensions: each offer with its verdict, then what was agreed (RFC 7692 §5, §7). */
  function extensionLines(x: TracedExtensionNegotiation): string[] {
    const out: string[] = [];
    if (x.error) out.push(c.yellow(`  extensions offered but malformed: ${x.error}`));
    for (const o of x.offers) {
      const element = [o.name, ...o.params.map((p) => (p.value === null ? p.name : `${p.name}=${p.value}`))].join('; ');
      const mark = o.verdict === 'accepted' ? c.green('✓') : o.verdict === 'declined' ? c.yellow('✗') : c.dim('·');
      out.push(`  ${mark} offer ${o.index + 1}: ${element} — ${o.verdict}: ${o.reason} ${c.dim(o.rfcSection)}`);
    }
    if (x.agreed) {
      out.push(`  agreed: ${x.response ?? x.agreed.name}`);
      for (const p of x.agreed.params) out.push(`    ${p.value === null ? p.name : `${p.name}=${p.value}`}: ${p.meaning} ${c.dim(p.rfcSection)}`);
      const z = x.agreed.deflate;
      if (z && (z.serverMaxWindowBits === 8 || z.clientMaxWindowBits === 8)) {
        out.push(c.dim(`    zlib windowBits: compress ${z.zlibWindowBits.compress}, inflate ${z.zlibWindowBits.decompress} (zlib has no raw 8-bit window: 8 runs as 9)`));
      }
    } else if (x.offered !== null) {
      out.push(`  ${c.dim('no extension in use: RSV bits stay 0, payloads go as they are')}`);
    }
    return out;
  }

  /** wss:// (RFC 6455 §10.6): the TLS summary, the certificate chain, and the verdict (red when insecure or failed). */
  function tlsLines(t: TlsInfo): string[] {
    const certLine = (label: string, cert: TlsCertificateInfo) => [
      `${c.dim(label.padEnd(12))}${cert.subject}${cert.selfSigned ? c.yellow(' (self-signed)') : ` issued by ${cert.issuer}`}, ${cert.publicKey}`,
      `${' '.repeat(12)}for ${cert.subjectAltNames.length ? cert.subjectAltNames.join(', ') + (cert.moreSubjectAltNames ? ` (+${cert.moreSubjectAltNames})` : '') : 'no names (no SAN)'}; valid ${cert.validFrom.slice(0, 10)} → ${cert.validTo.slice(0, 10)}`,
      `${' '.repeat(12)}SHA-256 ${cert.sha256}`,
    ];
    const ok = t.failure && !t.ok ? c.red('✗') : t.insecure && !t.verified ? c.red('⚠') : c.green('✓');
    const lines = [`${ok} ${c.bold('TLS')} ${t.protocol ? tlsSummary(t) : `handshake failed (SNI ${t.sni ?? 'none'})`}`];
    t.peerCertificates.forEach((cert, i) => lines.push(...certLine(i === 0 ? (t.role === 'client' ? 'server cert' : 'client cert') : `  chain #${i + 1}`, cert)));
    if (t.localCertificate) lines.push(...certLine('our cert', t.localCertificate));
    if (t.role === 'client' && t.verified) lines.push(c.green(`✓ verified: the chain leads to a trusted certificate authority and the certificate covers "${t.host ?? ''}"`));
    if (t.failure) {
      if (t.ok && t.insecure) lines.push(c.red(`⚠ INSECURE (--insecure): the server's certificate was NOT verified; anyone on the path could be answering. ${t.failure.summary}`));
      else {
        lines.push(c.red(`✗ TLS failed: ${t.failure.summary} [${t.failure.code}]`));
        lines.push(c.red(`  ${t.failure.explanation}`));
        for (const advice of t.failure.advice) lines.push(c.red(`  → ${advice}`));
      }
    }
    return lines;
  }

  return (e: TraceEvent): string | null => {
    const prefix = `${c.dim(clock(e.time))} ${c.blue(e.connectionId.padEnd(14))}`;
    let lines: string[];
    switch (e.type) {
      case 'connection-opened':
        lines = [`${c.green('⇄')} TCP ${e.role === 'server' ? `connection from ${e.remote}` : `connected to ${e.remote}${e.url ? ` (${e.url})` : ''}`}`];
        break;
      case 'bytes':
        return null; // frames and heads show the same bytes, annotated
      case 'tls':
        lines = tlsLines(e.tls);
        break;
      case 'http-head': {
        const text = utf8DecodeLenient(e.head.raw).replace(/(\r\n)+$/, '');
        lines = text.split('\r\n').map((line, i) => (i === 0 ? `${arrow(e.direction)} ${c.bold(line)}` : `  ${line}`));
        break;
      }
      case 'handshake': {
        const required = e.checks.filter((k) => !k.informational);
        const passed = required.filter((k) => k.ok).length;
        lines = [`${e.ok ? c.green('✓') : c.red('✗')} handshake (${e.side} side): ${passed}/${required.length} checks pass${e.ok ? '' : ` → ${e.status}`}`];
        for (const k of e.checks) {
          if (k.ok && k.informational) lines.push(`  ${c.dim('i')} ${k.label}: ${k.detail} ${c.dim(k.rfcSection)}`);
          else if (!k.ok) lines.push(`  ${c.red('✗')} ${k.label}: ${k.detail} ${c.dim(k.rfcSection)}`);
        }
        if (e.accept) {
          lines.push(`  Sec-WebSocket-Accept = base64(SHA-1(key + GUID))`);
          lines.push(`    key + GUID = ${e.accept.concatenated}`);
          lines.push(`    SHA-1      = ${e.accept.sha1Hex}`);
          lines.push(`    base64     = ${e.accept.accept}${e.acceptOnWire !== undefined ? (e.acceptOnWire === e.accept.accept ? c.green(' ✓ matches the wire') : c.red(` ✗ wire has ${e.acceptOnWire}`)) : ''}`);
        }
        if (e.extensions) lines.push(...extensionLines(e.extensions));
        if (e.error) lines.push(c.red(`  ${e.error.message} (${e.error.rfcSection.startsWith('RFC ') ? '' : 'RFC 6455 '}${e.error.rfcSection})`));
        break;
      }
      case 'frame':
        lines = frameLines(e.direction, e.frame);
        break;
      case 'message':
        lines = [`${arrow(e.direction)} ${c.green('message')} ${e.opcode === 1 ? 'text' : 'binary'} ${e.size} bytes${e.frameIds.length > 1 ? ` from ${e.frameIds.length} frames (${frameList(e.frameIds)})` : ''}: ${e.text !== undefined ? quote(e.text, max) : toHex((e.data ?? new Uint8Array()).subarray(0, max), ' ') + (e.size > max ? ' …' : '')}`];
        if (e.compression) {
          const z = e.compression;
          lines.push(`${c.dim('deflate')} ${z.compressedSize} bytes on the wire → ${e.size} plain${z.ratio !== null ? ` (${z.ratio.toFixed(2)}:1)` : ''}; 00 00 ff ff ${z.tail}; window ${z.contextTakeover ? `carried over (${z.windowMessages} earlier message${z.windowMessages === 1 ? '' : 's'})` : 'fresh'}, 2^${z.windowBits}${z.bfinal ? '; the sender ended its DEFLATE stream (BFINAL)' : ''}`);
          lines.push(`${c.dim('wire')}    ${toHex(z.compressed.subarray(0, max), ' ')}${z.compressedSize > max ? ' …' : ''}`);
        }
        break;
      case 'state':
        lines = [c.dim(`state ${e.from} → ${e.to} (${e.reason})`)];
        break;
      case 'violation':
        lines = [c.red(`✗ violation ${e.violation.code} (${e.violation.rfcSection}): ${e.violation.message}`), c.red(`  rule: ${e.violation.rule}`), e.observed
          // The observe policy (and every opened recording or capture) flags it and reads on.
          ? c.yellow(`  → observed: the RFC fails the connection with ${e.violation.closeCode} ${describeCloseCode(e.violation.closeCode).name}; reading went on`)
          : c.red(`  → failing the connection with ${e.violation.closeCode} ${describeCloseCode(e.violation.closeCode).name}`)];
        break;
      case 'connection-closed':
        lines = [`${e.wasClean ? c.green('✔ closed cleanly') : c.yellow('✖ closed')} ${e.code} ${describeCloseCode(e.code).name}${e.reason ? ` ${quote(e.reason, max)}` : ''} — ${e.detail}`];
        break;
      case 'error':
        lines = [c.red(`error: ${e.message}`)];
        break;
      case 'note':
        lines = [c.dim(e.text)];
        break;
    }
    return lines.map((line, i) => (i === 0 ? `${prefix} ${line}` : `${indent}${line}`)).join('\n');
  };
}

function hasControlBytes(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b < 0x09 || (b > 0x0d && b < 0x20)) return true;
  return false;
}

/** A message's frame numbers; a long list folded to its first and last few ("#1, #2, #3, … 994 more …, #999, #1000"). */
export function frameList(ids: readonly number[], keep = 3): string {
  if (ids.length <= keep * 2 + 1) return `#${ids.join(', #')}`;
  return `#${ids.slice(0, keep).join(', #')}, … ${ids.length - keep * 2} more …, #${ids.slice(-keep).join(', #')}`;
}

/** A relay delay in µs, as µs below a millisecond and ms above. */
function formatDelay(us: number): string {
  return us < 1000 ? `${us} µs` : `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
}
