/**
 * The Sec-WebSocket-Extensions header (RFC 6455 §9.1), parsed and written. Pure and
 * renderer-safe: no node import.
 *
 *   Sec-WebSocket-Extensions = extension-list
 *   extension-list = 1#extension
 *   extension = extension-token *( ";" extension-param )
 *   extension-token = registered-token
 *   registered-token = token
 *   extension-param = token [ "=" (token | quoted-string) ]
 *       ;When using the quoted-string syntax variant, the value
 *       ;after quoted-string unescaping MUST conform to the
 *       ;'token' ABNF.
 *
 * `1#` is RFC 2616's list rule (§2.1): elements separated by commas, optional whitespace, and
 * empty elements allowed (and ignored). Words and separators may have whitespace between them.
 *
 * The parser never throws: whatever the peer sends (it is an attacker's string), the answer is
 * the elements or the first problem with its position. Its work is linear in the input, which
 * the HTTP head limit already bounds.
 */

/** One parameter: `name` or `name=value` (a quoted value is given unescaped). */
export interface ExtensionParam {
  name: string;
  /** null: the parameter has no value (e.g. `server_no_context_takeover`). */
  value: string | null;
}

/** One element of the list: an extension name with its parameters, in the order sent. */
export interface ExtensionElement {
  name: string;
  params: ExtensionParam[];
}

export type ExtensionHeaderParse =
  | { ok: true; elements: ExtensionElement[] }
  | { ok: false; error: string; at: number };

// RFC 9110 §5.6.2 tchar.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

function describeChar(text: string, at: number): string {
  if (at >= text.length) return 'the end of the header';
  const code = text.charCodeAt(at);
  const shown = code >= 0x20 && code < 0x7f ? `"${text[at]}"` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `${shown} at position ${at}`;
}

/** Parses a Sec-WebSocket-Extensions value (several header lines: join them with ", " first). */
export function parseExtensionHeader(value: string): ExtensionHeaderParse {
  const elements: ExtensionElement[] = [];
  let i = 0;
  const n = value.length;
  const skipWs = () => {
    while (i < n && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
  };
  const token = (): string | null => {
    const start = i;
    while (i < n && isTchar(value.charCodeAt(i))) i++;
    return i > start ? value.slice(start, i) : null;
  };
  const fail = (what: string): ExtensionHeaderParse => ({ ok: false, error: `${what}, found ${describeChar(value, i)}`, at: i });

  for (;;) {
    skipWs();
    if (i >= n) break;
    if (value.charCodeAt(i) === 0x2c) { // an empty list element (RFC 2616 §2.1 allows them)
      i++;
      continue;
    }
    const name = token();
    if (name === null) return fail('Expected an extension name (a token)');
    const element: ExtensionElement = { name, params: [] };
    elements.push(element);
    skipWs();
    while (i < n && value.charCodeAt(i) === 0x3b) { // ";"
      i++;
      skipWs();
      const paramName = token();
      if (paramName === null) return fail(`Expected a parameter name after ";" in "${name}"`);
      skipWs();
      let paramValue: string | null = null;
      if (i < n && value.charCodeAt(i) === 0x3d) { // "="
        i++;
        skipWs();
        if (i < n && value.charCodeAt(i) === 0x22) {
          const start = i;
          i++;
          let unescaped = '';
          let closed = false;
          while (i < n) {
            const c = value.charCodeAt(i);
            if (c === 0x22) {
              closed = true;
              i++;
              break;
            }
            if (c === 0x5c) { // quoted-pair
              i++;
              if (i >= n) break;
            }
            unescaped += value[i];
            i++;
          }
          if (!closed) {
            i = start;
            return fail(`Unterminated quoted-string for parameter "${paramName}"`);
          }
          // §9.1: "the value after quoted-string unescaping MUST conform to the 'token' ABNF".
          if (unescaped.length === 0 || ![...unescaped].every((ch) => isTchar(ch.charCodeAt(0)))) {
            i = start;
            return fail(`The quoted value of "${paramName}" is not a token once unescaped (RFC 6455 §9.1)`);
          }
          paramValue = unescaped;
        } else {
          paramValue = token();
          if (paramValue === null) return fail(`Expected a value (a token or a quoted-string) for parameter "${paramName}"`);
        }
        skipWs();
      }
      element.params.push({ name: paramName, value: paramValue });
    }
    if (i >= n) break;
    if (value.charCodeAt(i) !== 0x2c) return fail(`Expected ";" or "," after "${name}"`);
    i++;
  }
  if (elements.length === 0) return { ok: false, error: 'The header lists no extension (RFC 6455 §9.1: extension-list = 1#extension)', at: 0 };
  return { ok: true, elements };
}

/** Writes one element: `name; param; param=value` (values that are not tokens are quoted). */
export function formatExtensionElement(element: ExtensionElement): string {
  return [element.name, ...element.params.map((p) => (p.value === null ? p.name : `${p.name}=${isTokenValue(p.value) ? p.value : `"${p.value.replace(/(["\\])/g, '\\$1')}"`}`))].join('; ');
}

/** Writes a whole header value: elements separated by ", ". */
export function formatExtensionHeader(elements: readonly ExtensionElement[]): string {
  return elements.map(formatExtensionElement).join(', ');
}

function isTokenValue(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) if (!isTchar(value.charCodeAt(i))) return false;
  return true;
}
