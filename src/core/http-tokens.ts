/**
 * Checks for what this endpoint writes into an HTTP head on someone's behalf: subprotocol names,
 * header names and header values. Every one of them can come from an attacker (a web page
 * driving the bridge, a pasted command line), so each is checked before a socket is opened and
 * again where the head is built; a bad one is a plain error, never bytes on the wire.
 */

import { isToken, type HttpHeader } from './http.ts';

/** An option that cannot go into an opening handshake, in plain words. */
export class HandshakeOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandshakeOptionError';
  }
}

/**
 * RFC 6455 §4.1 (item 10): each subprotocol "MUST be [a] non-empty string [...] and MUST all be
 * unique strings", and §11.3.4: the Sec-WebSocket-Protocol values are tokens as defined by
 * RFC 2616 (today RFC 9110 §5.6.2: no space, comma, quote or separator).
 */
export function subprotocolProblem(name: string): string | null {
  if (name === '') return 'A subprotocol name cannot be empty (RFC 6455 §4.1 item 10).';
  if (!isToken(name)) {
    return `"${printable(name)}" is not a valid subprotocol: it must be a token, without spaces, commas or separators (RFC 6455 §4.1 item 10, §11.3.4; RFC 9110 §5.6.2).`;
  }
  return null;
}

/** RFC 9110 §5.1: field-name = token. */
export function headerNameProblem(name: string): string | null {
  if (!isToken(name)) {
    return `"${printable(name)}" is not a valid header name: it must be a token, without spaces or separators (RFC 9110 §5.1, §5.6.2).`;
  }
  return null;
}

/**
 * RFC 9110 §5.5: "Field values containing CR, LF, or NUL characters are invalid and dangerous".
 * They are refused, not replaced: a CR/LF in a value ends the header line, so whatever follows
 * would be written after the request head as bytes of the attacker's choice (request smuggling).
 */
export function headerValueProblem(name: string, value: string): string | null {
  const bad = /[\r\n\0]/.exec(value);
  if (!bad) return null;
  const which = bad[0] === '\r' ? 'a CR' : bad[0] === '\n' ? 'an LF' : 'a NUL';
  return `The value of header "${printable(name)}" contains ${which} character: CR, LF and NUL are not allowed in a header value (RFC 9110 §5.5); they would end the header line and smuggle bytes after the request.`;
}

/** A "Name: value" line as typed by a user (CLI --header, the app's header box), checked. */
export function parseHeaderLine(line: string): HttpHeader {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new HandshakeOptionError(`A header must look like "Name: value" (got "${printable(line)}").`);
  const header = { name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() };
  const problem = headerNameProblem(header.name) ?? headerValueProblem(header.name, header.value);
  if (problem) throw new HandshakeOptionError(problem);
  return header;
}

/** Several such lines (blank ones skipped, as a text box leaves them). */
export function parseHeaderLines(lines: readonly string[]): HttpHeader[] {
  return lines.filter((line) => line.trim() !== '').map(parseHeaderLine);
}

/** Throws HandshakeOptionError for the first subprotocol or header that cannot be sent. */
export function checkHandshakeOptions(options: { subprotocols?: readonly string[] | undefined; headers?: readonly HttpHeader[] | undefined }): void {
  const seen = new Set<string>();
  for (const p of options.subprotocols ?? []) {
    const problem = typeof p === 'string' ? subprotocolProblem(p) : 'A subprotocol name must be a string.';
    if (problem) throw new HandshakeOptionError(problem);
    // §4.1 item 10: the elements "MUST all be unique strings".
    if (seen.has(p)) throw new HandshakeOptionError(`The subprotocol "${p}" is offered twice: the names must be unique (RFC 6455 §4.1 item 10).`);
    seen.add(p);
  }
  for (const h of options.headers ?? []) {
    if (typeof h?.name !== 'string' || typeof h.value !== 'string') throw new HandshakeOptionError('A header is a name and a value, both strings.');
    const problem = headerNameProblem(h.name) ?? headerValueProblem(h.name, h.value);
    if (problem) throw new HandshakeOptionError(problem);
  }
}

/** Control characters shown as escapes in a message, so the message itself stays one line. */
function printable(s: string): string {
  const shown = s.length > 80 ? `${s.slice(0, 80)}…` : s;
  return shown.replace(/[\0-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
