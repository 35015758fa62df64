/**
 * The human-readable trace: one block per event, frames annotated field by field.
 * Colour only on a terminal (and never with NO_COLOR).
 */

import { toHex, utf8DecodeLenient } from '../core/bytes.ts';
import { describeCloseCode, describeOpcode } from '../core/constants.ts';
import type { TraceEvent, TracedFrame } from '../core/trace.ts';
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
      f.rsv1 || f.rsv2 || f.rsv3 ? c.red(`RSV=${+f.rsv1}${+f.rsv2}${+f.rsv3}`) : null,
      f.masked ? `masked key=${f.maskKey ? toHex(f.maskKey) : '?'}` : 'unmasked',
    ].filter(Boolean).join(' ');
    const lengthEncoding = f.lengthField === 126 ? '16-bit' : f.lengthField === 127 ? '64-bit' : '7-bit';
    const title = `${arrow(direction)} ${c.bold(`frame #${f.frameId}`)} ${c.bold(op.name.toUpperCase())} ${flags} len=${f.payloadLength} (${lengthEncoding})${f.partial ? c.red(' [incomplete]') : ''}`;
    const lines = [title];
    const head = f.raw.subarray(0, Math.min(f.raw.length, f.headerLength));
    const payloadHex = f.raw.subarray(f.headerLength, f.headerLength + Math.min(max, f.raw.length - f.headerLength));
    const more = f.raw.length - f.headerLength > max ? ` … (+${f.raw.length - f.headerLength - max} bytes)` : '';
    lines.push(`${c.dim('wire')}    ${c.yellow(toHex(head, ' '))}${payloadHex.length ? ' ' + toHex(payloadHex, ' ') : ''}${more}`);
    const bits = `FIN=${+f.fin} RSV1-3=${+f.rsv1}${+f.rsv2}${+f.rsv3} opcode=0x${f.opcode.toString(16).toUpperCase()} (${op.name}) MASK=${+f.masked} payload len=${f.lengthField}`;
    lines.push(`${c.dim('fields')}  ${bits}${f.lengthField >= 126 ? ` → extended ${f.payloadLength}` : ''}${f.maskKey ? ` masking-key=${toHex(f.maskKey, ' ')}` : ''}`);
    if (f.close) {
      const info = f.close.code === null ? 'no status code' : `${f.close.code} ${describeCloseCode(f.close.code).name}`;
      lines.push(`${c.dim('close')}   ${info}${f.close.reason ? ` reason ${quote(f.close.reason, max)}` : ''}`);
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
    return lines;
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
        if (e.error) lines.push(c.red(`  ${e.error.message} (RFC 6455 ${e.error.rfcSection})`));
        break;
      }
      case 'frame':
        lines = frameLines(e.direction, e.frame);
        break;
      case 'message':
        lines = [`${arrow(e.direction)} ${c.green('message')} ${e.opcode === 1 ? 'text' : 'binary'} ${e.size} bytes${e.frameIds.length > 1 ? ` from ${e.frameIds.length} frames (#${e.frameIds.join(', #')})` : ''}: ${e.text !== undefined ? quote(e.text, max) : toHex((e.data ?? new Uint8Array()).subarray(0, max), ' ') + (e.size > max ? ' …' : '')}`];
        break;
      case 'state':
        lines = [c.dim(`state ${e.from} → ${e.to} (${e.reason})`)];
        break;
      case 'violation':
        lines = [c.red(`✗ violation ${e.violation.code} (${e.violation.rfcSection}): ${e.violation.message}`), c.red(`  rule: ${e.violation.rule}`), c.red(`  → failing the connection with ${e.violation.closeCode} ${describeCloseCode(e.violation.closeCode).name}`)];
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
