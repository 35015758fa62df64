/**
 * Who may use the web host's bridge: only the inspector's own page, in this browser, on this
 * machine. Each check answers one attack (SECURITY.md):
 *   - Host names this listener: a DNS-rebound page (its own name resolving to 127.0.0.1)
 *     sends its own name as Host, so it is refused;
 *   - Origin, when the browser sends one, is this very origin: another page's fetch or form;
 *   - Sec-Fetch-Site, when sent, is same-origin: the browser's own word on who is calling;
 *   - a per-run token in a custom header: a cross-origin page cannot read it (it is in
 *     index.html, which the same-origin policy keeps from other origins) and cannot even send a
 *     custom header without a CORS preflight, which is refused (OPTIONS is never answered yes);
 *   - Content-Type: application/json (application/octet-stream for a recording's upload): a
 *     form post or a no-cors fetch can only send text/plain, urlencoded or multipart bodies.
 * Pure functions of the request; no I/O.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_HEADER = 'x-inspector-token';

export interface Refusal {
  status: number;
  message: string;
}

/** The Host values this listener answers to. */
export function ownHosts(port: number): ReadonlySet<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Every request, static files included: Host is ours, Origin (if any) is our origin. */
export function checkHostAndOrigin(req: IncomingMessage, allowedHosts: ReadonlySet<string>): Refusal | null {
  const host = single(req.headers.host)?.toLowerCase();
  if (!host || !allowedHosts.has(host)) {
    return { status: 403, message: `Refused: Host "${host ?? ''}" is not this inspector. Open it at http://127.0.0.1:PORT/ (protection against DNS rebinding).` };
  }
  const origin = single(req.headers.origin);
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) {
    return { status: 403, message: `Refused: a page from ${origin} may not use this inspector's bridge.` };
  }
  return null;
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** An API call or the event stream: method, fetch metadata, token, and (for calls) JSON. */
export function checkApiRequest(req: IncomingMessage, token: string, method: 'GET' | 'POST', contentType = 'application/json'): Refusal | null {
  if (req.method === 'OPTIONS') return { status: 403, message: 'Refused: the bridge answers no CORS preflight; only the inspector\'s own page may call it.' };
  if (req.method !== method) return { status: 404, message: 'no such call' };
  const site = single(req.headers['sec-fetch-site']);
  if (site !== undefined && site !== 'same-origin') return { status: 403, message: `Refused: a ${site} request may not use this inspector's bridge.` };
  if (!sameToken(single(req.headers[TOKEN_HEADER]), token)) {
    return { status: 403, message: `Refused: no valid ${TOKEN_HEADER} header. Only the inspector's own page has this run's token.` };
  }
  if (method === 'POST') {
    const type = single(req.headers['content-type'])?.split(';')[0]?.trim().toLowerCase();
    // Neither JSON nor octet-stream is a type a form or a no-cors fetch can send.
    if (type !== contentType) return { status: 415, message: `Refused: calls must be Content-Type: ${contentType}.` };
  }
  return null;
}
