/**
 * The display-filter language of the frame and message lists, in Wireshark's spirit:
 *
 *   opcode == ping && len > 100        dir == in        violation        !compressed
 *   payload ~ "order\d+"               payload contains "orderId"        wire contains hex:81:05
 *   conn == server1:3 || (code >= 1002 && code <= 1015)
 *
 * A filter is parsed once into a predicate; errors say where (a 1-based column) and what was
 * expected there, in plain words. Every input is bounded: at most MAX_FILTER_LENGTH characters,
 * MAX_DEPTH nested groups or negations, and regular expressions run by linear-regex.ts, which
 * cannot backtrack, so no filter can freeze the window whatever the traffic.
 */
import { compileLinearRegex, PatternError, type LinearRegex } from '../../../shared/linear-regex.ts';
import { indexOfBytes, parseHexBytes } from '../../../shared/payload-search.ts';

export { indexOfBytes, parseHexBytes };

export const MAX_FILTER_LENGTH = 2000;
export const MAX_DEPTH = 50;

/** What a filter is evaluated against: one frame, or one message with its frames folded in. */
export interface FilterSubject {
  /** A frame's opcode; a message's: text (1) or binary (2), or its control opcode. */
  opcode: number;
  /** Payload length in bytes (a message: all its frames'). */
  length: number;
  direction: 'in' | 'out';
  violation: boolean;
  compressed: boolean;
  fin: boolean;
  masked: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  connectionId: string;
  /** The frame id (a message: its first frame's). */
  id: number;
  /** How many frames (1 for a frame). */
  frames: number;
  edited: boolean;
  /** A close frame's status code (null: none, or not a close frame). */
  closeCode: number | null;
  /** The payload as text (as far as the inspector holds it; inflated when compressed). */
  payloadText(): string;
  /** The payload's bytes (unmasked, inflated when compressed). */
  payloadBytes(): Uint8Array;
  /** The bytes on the wire, header included. */
  wireBytes(): Uint8Array;
}

type FieldType = 'number' | 'bool' | 'string' | 'enum' | 'bytes';

interface FieldSpec {
  name: string;
  type: FieldType;
  help: string;
  /** Value names the field takes (enums), for completion and checking. */
  values?: readonly string[];
}

const opcodeNames: Record<string, number> = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

export const fields: readonly FieldSpec[] = [
  { name: 'opcode', type: 'enum', help: 'frame type: continuation, text, binary, close, ping, pong, or a number 0-15 (§5.2)', values: Object.keys(opcodeNames) },
  { name: 'len', type: 'number', help: 'payload length in bytes (a message: all its frames)' },
  { name: 'dir', type: 'enum', help: 'in (received) or out (sent)', values: ['in', 'out'] },
  { name: 'violation', type: 'bool', help: 'the frame broke a rule of RFC 6455' },
  { name: 'compressed', type: 'bool', help: 'part of a permessage-deflate message (RFC 7692)' },
  { name: 'control', type: 'bool', help: 'a control frame: close, ping or pong (§5.5)' },
  { name: 'data', type: 'bool', help: 'a data frame: text, binary or continuation (§5.6)' },
  { name: 'fin', type: 'bool', help: 'the FIN bit: the final fragment (§5.2)' },
  { name: 'mask', type: 'bool', help: 'the MASK bit: the payload is masked (§5.3)' },
  { name: 'rsv1', type: 'bool', help: 'the RSV1 bit (permessage-deflate sets it)' },
  { name: 'rsv2', type: 'bool', help: 'the RSV2 bit' },
  { name: 'rsv3', type: 'bool', help: 'the RSV3 bit' },
  { name: 'conn', type: 'string', help: 'the connection id, e.g. server1:3 (the list then spans every connection)' },
  { name: 'id', type: 'number', help: 'the frame number (a message: its first frame)' },
  { name: 'frames', type: 'number', help: 'how many frames (a message folded from fragments: more than 1)' },
  { name: 'edited', type: 'bool', help: 'edited in the debugger before release' },
  { name: 'code', type: 'number', help: "a close frame's status code (§7.4)" },
  { name: 'payload', type: 'string', help: 'the payload: == "text", contains "text" or hex:…, ~ "regex" or ~ /regex/i' },
  { name: 'wire', type: 'bytes', help: 'the bytes on the wire: contains hex:81:05 or contains "text"' },
];

const fieldAliases: Record<string, string> = { length: 'len', direction: 'dir', masked: 'mask', connection: 'conn', frame: 'id' };
const comparisonOps = ['==', '!=', '<', '<=', '>', '>=', 'contains', '~', 'matches'] as const;
type ComparisonOp = (typeof comparisonOps)[number];

/** A filter that could not be parsed: `column` is 1-based, the message says what was expected. */
export class FilterError extends Error {
  constructor(readonly column: number, readonly expected: string, found: string) {
    super(`Column ${column}: expected ${expected}${found ? `, found ${found}` : ''}.`);
  }
}

type Token =
  | { kind: 'op'; text: string; at: number }
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; text: string; at: number; raw: string }
  | { kind: 'regex'; text: string; flags: string; at: number }
  | { kind: 'end'; text: ''; at: number };

function describe(token: Token): string {
  if (token.kind === 'end') return 'the end of the filter';
  const text = token.kind === 'string' ? token.raw : token.kind === 'regex' ? `/${token.text}/${token.flags}` : token.text;
  return `"${text.length > 24 ? `${text.slice(0, 24)}…` : text}"`;
}

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (['&&', '||', '==', '!=', '<=', '>='].includes(two)) {
      tokens.push({ kind: 'op', text: two, at: i });
      i += 2;
      continue;
    }
    if ('()!<>~'.includes(c)) {
      tokens.push({ kind: 'op', text: c, at: i });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let text = '';
      while (j < input.length && input[j] !== c) {
        if (input[j] === '\\' && j + 1 < input.length) {
          const e = input[j + 1]!;
          // \" \' \\ \n \t \r are escapes; any other backslash stays, so "order\d+" reaches ~ intact.
          text += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === c || e === '\\' ? e : `\\${e}`;
          j += 2;
        } else {
          text += input[j++];
        }
      }
      if (j >= input.length) throw new FilterError(i + 1, `a closing ${c} for the string that starts here`, '');
      tokens.push({ kind: 'string', text, at: i, raw: input.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    if (c === '/') {
      let j = i + 1;
      let inClass = false;
      while (j < input.length && (input[j] !== '/' || inClass)) {
        if (input[j] === '\\') j++;
        else if (input[j] === '[') inClass = true;
        else if (input[j] === ']') inClass = false;
        j++;
      }
      if (j >= input.length) throw new FilterError(i + 1, 'a closing / for the regular expression that starts here', '');
      const flags = /^[a-z]*/.exec(input.slice(j + 1))![0];
      tokens.push({ kind: 'regex', text: input.slice(i + 1, j), flags, at: i });
      i = j + 1 + flags.length;
      continue;
    }
    const word = /^[A-Za-z0-9_.:\-]+/.exec(input.slice(i));
    if (!word) throw new FilterError(i + 1, 'a field name, a value, an operator (== != < <= > >= contains ~ && || !) or a parenthesis', `"${c}"`);
    tokens.push({ kind: 'word', text: word[0], at: i });
    i += word[0].length;
  }
  tokens.push({ kind: 'end', text: '', at: input.length });
  return tokens;
}

export type Predicate = (s: FilterSubject) => boolean;

export interface CompiledFilter {
  test: Predicate;
  /** The filter names `conn`: the list spans every connection. */
  usesConnection: boolean;
  source: string;
}

type Value =
  | { kind: 'number'; value: number }
  | { kind: 'text'; value: string }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'regex'; value: LinearRegex };

const fieldNames = fields.map((f) => f.name).join(', ');

class FilterParser {
  private pos = 0;
  private depth = 0;
  usesConnection = false;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return (t.kind === 'op' && t.text === text) || (t.kind === 'word' && t.text.toLowerCase() === ({ '&&': 'and', '||': 'or', '!': 'not' } as Record<string, string>)[text]);
  }

  parse(): Predicate {
    if (this.peek().kind === 'end') return () => true;
    const predicate = this.or();
    const t = this.peek();
    if (t.kind !== 'end') throw new FilterError(t.at + 1, t.kind === 'op' && t.text === ')' ? '&& or || (this ")" closes no group)' : '&& or || between two tests', describe(t));
    return predicate;
  }

  private or(): Predicate {
    const parts = [this.and()];
    while (this.isOp('||')) {
      this.pos++;
      parts.push(this.and());
    }
    return parts.length === 1 ? parts[0]! : (s) => parts.some((p) => p(s));
  }

  private and(): Predicate {
    const parts = [this.unary()];
    while (this.isOp('&&')) {
      this.pos++;
      parts.push(this.unary());
    }
    return parts.length === 1 ? parts[0]! : (s) => parts.every((p) => p(s));
  }

  private nest<T>(at: number, inner: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new FilterError(at + 1, `at most ${MAX_DEPTH} nested groups or negations`, 'more');
    try {
      return inner();
    } finally {
      this.depth--;
    }
  }

  private unary(): Predicate {
    const t = this.peek();
    if (this.isOp('!')) {
      this.pos++;
      const inner = this.nest(t.at, () => this.unary());
      return (s) => !inner(s);
    }
    if (t.kind === 'op' && t.text === '(') {
      this.pos++;
      const inner = this.nest(t.at, () => this.or());
      const close = this.peek();
      if (!(close.kind === 'op' && close.text === ')')) throw new FilterError(close.at + 1, `")" to close the "(" at column ${t.at + 1}`, describe(close));
      this.pos++;
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Predicate {
    const t = this.peek();
    if (t.kind !== 'word') throw new FilterError(t.at + 1, `a field name (${fieldNames})`, describe(t));
    const name = fieldAliases[t.text.toLowerCase()] ?? t.text.toLowerCase();
    const field = fields.find((f) => f.name === name);
    if (!field) {
      const near = fields.filter((f) => f.name.startsWith(name.slice(0, 2))).map((f) => f.name);
      throw new FilterError(t.at + 1, `a field name (${near.length ? `did you mean ${near.join(' or ')}?` : fieldNames})`, describe(t));
    }
    this.pos++;
    if (field.name === 'conn') this.usesConnection = true;
    const opToken = this.peek();
    const opText = opToken.kind === 'op' || opToken.kind === 'word' ? opToken.text.toLowerCase() : '';
    if (!(comparisonOps as readonly string[]).includes(opText) || opToken.kind === 'string') {
      // A bare field: true when set (booleans), non-zero (numbers), non-empty (payload).
      if (opToken.kind !== 'end' && !(opToken.kind === 'op' && [')', '&&', '||'].includes(opToken.text)) && !this.isOp('&&') && !this.isOp('||')) {
        throw new FilterError(opToken.at + 1, `an operator after "${t.text}" (== != < <= > >= contains ~), or && / || to join another test`, describe(opToken));
      }
      return truthy(field);
    }
    const op = (opText === 'matches' ? '~' : opText) as ComparisonOp;
    this.pos++;
    const valueToken = this.peek();
    const value = this.value(field, op, valueToken);
    this.pos++;
    return compare(field, op, value);
  }

  private value(field: FieldSpec, op: ComparisonOp, t: Token): Value {
    const expected = expectedValue(field, op);
    if (t.kind === 'end' || t.kind === 'op') throw new FilterError(t.at + 1, expected, describe(t));
    if (op === '~') {
      if (field.type !== 'string') throw new FilterError(t.at + 1, `"~" only after payload or conn; for ${field.name} use ${field.type === 'number' ? '== != < <= > >=' : '== or !='}`, describe(t));
      if (t.kind === 'word') throw new FilterError(t.at + 1, 'a regular expression in quotes or slashes, e.g. "order\\d+" or /order\\d+/i', describe(t));
      try {
        return { kind: 'regex', value: compileLinearRegex(t.text, t.kind === 'regex' ? t.flags : '') };
      } catch (e) {
        if (e instanceof PatternError) throw new FilterError(t.at + 2 + e.position, `in the regular expression, ${e.message}`, '');
        throw e;
      }
    }
    if (t.kind === 'regex') throw new FilterError(t.at + 1, `a value; a /regular expression/ goes after "~"`, describe(t));
    if (op === 'contains') {
      if (field.type !== 'string' && field.type !== 'bytes') throw new FilterError(t.at + 1, `"contains" only after payload, wire or conn`, describe(t));
      if (t.kind === 'word' && t.text.toLowerCase().startsWith('hex:')) {
        const bytes = parseHexBytes(t.text.slice(4));
        if (!bytes) throw new FilterError(t.at + 5, 'hex bytes after hex:, e.g. hex:81:05 or hex:8105', describe(t));
        return { kind: 'bytes', value: bytes };
      }
      return { kind: 'text', value: t.text };
    }
    if (field.type === 'number' || (field.name === 'opcode' && /^(0x)?[0-9a-f]+$/i.test(t.text) && t.kind === 'word')) {
      const n = parseNumber(t.text);
      if (n === null || t.kind !== 'word') throw new FilterError(t.at + 1, expected, describe(t));
      return { kind: 'number', value: n };
    }
    if (op !== '==' && op !== '!=') throw new FilterError(t.at - 1, `== or != for ${field.name} (only numbers are ordered)`, `"${op}"`);
    if (field.type === 'bool') {
      const v = t.text.toLowerCase();
      if (!['true', 'false', '1', '0'].includes(v) || t.kind !== 'word') throw new FilterError(t.at + 1, expected, describe(t));
      return { kind: 'number', value: v === 'true' || v === '1' ? 1 : 0 };
    }
    if (field.name === 'opcode') {
      const n = opcodeNames[t.text.toLowerCase()];
      if (n === undefined) throw new FilterError(t.at + 1, expected, describe(t));
      return { kind: 'number', value: n };
    }
    if (field.name === 'dir') {
      const v = t.text.toLowerCase();
      const dir = v === 'in' || v === 'recv' || v === 'received' ? 'in' : v === 'out' || v === 'sent' ? 'out' : null;
      if (!dir) throw new FilterError(t.at + 1, expected, describe(t));
      return { kind: 'text', value: dir };
    }
    if (field.type === 'bytes') {
      throw new FilterError(t.at - 1, '"contains" after wire (wire contains hex:81:05)', `"${op}"`);
    }
    return { kind: 'text', value: t.text };
  }
}

function expectedValue(field: FieldSpec, op: ComparisonOp): string {
  if (op === '~') return 'a regular expression in quotes or slashes, e.g. "order\\d+"';
  if (op === 'contains') return 'text in quotes or hex bytes (hex:81:05)';
  switch (field.type) {
    case 'number': return `a number after ${field.name} ${op}`;
    case 'bool': return `true, false, 1 or 0 after ${field.name} ${op}`;
    case 'enum': return `${field.values!.join(', ')}${field.name === 'opcode' ? ' or a number' : ''} after ${field.name} ${op}`;
    default: return `a value after ${field.name} ${op}`;
  }
}

function parseNumber(text: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text.slice(2), 16);
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  return null;
}

function numberOf(field: FieldSpec, s: FilterSubject): number | null {
  switch (field.name) {
    case 'opcode': return s.opcode;
    case 'len': return s.length;
    case 'id': return s.id;
    case 'frames': return s.frames;
    case 'code': return s.closeCode;
    default: {
      const b = boolOf(field, s);
      return b === null ? null : b ? 1 : 0;
    }
  }
}

function boolOf(field: FieldSpec, s: FilterSubject): boolean | null {
  switch (field.name) {
    case 'violation': return s.violation;
    case 'compressed': return s.compressed;
    case 'control': return s.opcode >= 8;
    case 'data': return s.opcode < 8;
    case 'fin': return s.fin;
    case 'mask': return s.masked;
    case 'rsv1': return s.rsv1;
    case 'rsv2': return s.rsv2;
    case 'rsv3': return s.rsv3;
    case 'edited': return s.edited;
    default: return null;
  }
}

function truthy(field: FieldSpec): Predicate {
  switch (field.type) {
    case 'bool': return (s) => boolOf(field, s) === true;
    case 'number': case 'enum':
      if (field.name === 'dir') return () => true;
      return (s) => (numberOf(field, s) ?? 0) !== 0;
    case 'string': return field.name === 'conn' ? () => true : (s) => s.length > 0;
    case 'bytes': return () => true;
  }
}

function compare(field: FieldSpec, op: ComparisonOp, value: Value): Predicate {
  if (value.kind === 'regex') {
    const re = value.value;
    return field.name === 'conn' ? (s) => re.test(s.connectionId) : (s) => re.test(s.payloadText());
  }
  if (op === 'contains') {
    if (value.kind === 'bytes') {
      const needle = value.value;
      return field.name === 'wire' ? (s) => indexOfBytes(s.wireBytes(), needle) >= 0 : (s) => indexOfBytes(s.payloadBytes(), needle) >= 0;
    }
    const text = (value as { value: string }).value;
    if (field.name === 'conn') return (s) => s.connectionId.includes(text);
    if (field.name === 'wire') {
      const needle = new TextEncoder().encode(text);
      return (s) => indexOfBytes(s.wireBytes(), needle) >= 0;
    }
    return (s) => s.payloadText().includes(text);
  }
  if (value.kind === 'number') {
    const v = value.value;
    const get = (s: FilterSubject) => numberOf(field, s);
    switch (op) {
      case '==': return (s) => get(s) === v;
      case '!=': return (s) => get(s) !== v;
      case '<': return (s) => { const n = get(s); return n !== null && n < v; };
      case '<=': return (s) => { const n = get(s); return n !== null && n <= v; };
      case '>': return (s) => { const n = get(s); return n !== null && n > v; };
      case '>=': return (s) => { const n = get(s); return n !== null && n >= v; };
    }
  }
  const text = (value as { value: string }).value;
  const get = (s: FilterSubject): string => (field.name === 'dir' ? s.direction : field.name === 'conn' ? s.connectionId : s.payloadText());
  return op === '!=' ? (s) => get(s) !== text : (s) => get(s) === text;
}

/** Parses a filter; throws FilterError (column + what was expected) when it cannot. */
export function compileFilter(source: string): CompiledFilter {
  if (source.length > MAX_FILTER_LENGTH) throw new FilterError(MAX_FILTER_LENGTH + 1, `a filter of at most ${MAX_FILTER_LENGTH} characters`, `${source.length}`);
  const parser = new FilterParser(tokenize(source));
  const test = parser.parse();
  return { test, usesConnection: parser.usesConnection, source };
}

/** Parses a filter without throwing: the compiled filter, or the error in plain words. */
export function tryCompileFilter(source: string): { filter: CompiledFilter; error: null } | { filter: null; error: FilterError } {
  try {
    return { filter: compileFilter(source), error: null };
  } catch (e) {
    if (e instanceof FilterError) return { filter: null, error: e };
    throw e;
  }
}

export interface Completion {
  /** Replace input[from, to) with `insert`. */
  from: number;
  to: number;
  options: Array<{ insert: string; label: string; help: string }>;
}

/**
 * What can come at the cursor: field names where a test starts, operators after a field, the
 * values an enum field takes after its operator, && and || after a complete test.
 */
export function completeAt(input: string, cursor: number): Completion {
  const before = input.slice(0, cursor);
  const word = /[A-Za-z0-9_.:\-]*$/.exec(before)![0];
  const from = cursor - word.length;
  let tokens: Token[];
  try {
    tokens = tokenize(before.slice(0, from)).filter((t) => t.kind !== 'end');
  } catch {
    return { from, to: cursor, options: [] };
  }
  const prev = tokens[tokens.length - 1];
  const prev2 = tokens[tokens.length - 2];
  const lowerWord = word.toLowerCase();
  const fieldOptions = () => fields.filter((f) => f.name.startsWith(lowerWord)).map((f) => ({ insert: f.name, label: f.name, help: f.help }));
  if (!prev || (prev.kind === 'op' && ['&&', '||', '!', '('].includes(prev.text)) || (prev.kind === 'word' && ['and', 'or', 'not'].includes(prev.text.toLowerCase()))) {
    return { from, to: cursor, options: fieldOptions() };
  }
  const fieldOf = (t: Token | undefined) => (t && t.kind === 'word' ? fields.find((f) => f.name === (fieldAliases[t.text.toLowerCase()] ?? t.text.toLowerCase())) : undefined);
  const prevIsOp = (prev.kind === 'op' || prev.kind === 'word') && (comparisonOps as readonly string[]).includes(prev.text.toLowerCase());
  const field = fieldOf(prevIsOp ? prev2 : prev);
  if (prevIsOp && field) {
    const values = field.values ?? (field.type === 'bool' ? ['true', 'false'] : []);
    return { from, to: cursor, options: values.filter((v) => v.startsWith(lowerWord)).map((v) => ({ insert: v, label: v, help: `${field.name} ${prev.text} ${v}` })) };
  }
  if (field && !prevIsOp) {
    const ops = field.type === 'number' ? ['==', '!=', '<', '<=', '>', '>='] : field.type === 'string' ? ['==', '!=', 'contains', '~'] : field.type === 'bytes' ? ['contains'] : ['==', '!='];
    return { from, to: cursor, options: [...ops, '&&', '||'].filter((o) => o.startsWith(lowerWord)).map((o) => ({ insert: o, label: o, help: o === '&&' || o === '||' ? 'join another test' : `compare ${field.name}` })) };
  }
  return { from, to: cursor, options: ['&&', '||'].map((o) => ({ insert: o, label: o, help: o === '&&' ? 'and: both tests hold' : 'or: either test holds' })) };
}
