/**
 * Is this a place a server can listen on? Checked before anything is stopped or bound, so a bad
 * request (from a page, a pasted command) is answered in plain words and changes nothing.
 */

import { isIP } from 'node:net';

/**
 * An IP literal (IPv4, or IPv6 with or without brackets) or a hostname: dot-separated labels of
 * letters, digits and hyphens, 1-63 characters each, not starting or ending with a hyphen, at
 * most 253 characters in all (RFC 1123 §2.1, RFC 952). Anything else ("bad host", "a/b") is refused.
 */
export function hostProblem(host: string): string | null {
  if (isIP(host) !== 0 || isIP(unbracket(host)) === 6) return null;
  const shown = JSON.stringify(host.length > 80 ? `${host.slice(0, 80)}…` : host);
  if (host === '') return 'The host is empty: give an IP address (127.0.0.1, ::1) or a hostname (localhost).';
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const label = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  if (name.length > 253 || !name.split('.').every((l) => label.test(l))) {
    return `${shown} is not an IP address or a hostname (letters, digits, hyphens and dots, RFC 1123 §2.1), e.g. 127.0.0.1, ::1 or localhost.`;
  }
  return null;
}

/** A TCP port: a whole number from 0 (any free port) to 65535. */
export function portProblem(port: number): string | null {
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? null : `Port must be a whole number from 0 to 65535 (got ${port}).`;
}

/** "[::1]" → "::1" (an IPv6 literal as URLs write it); anything else as it is. */
export function unbracket(host: string): string {
  const inner = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : null;
  return inner !== null && isIP(inner) === 6 ? inner : host;
}
