/**
 * Regular expressions for searching payloads, matched in linear time (a Pike VM over a compiled
 * NFA: every position of the text is visited once per program instruction at most).
 *
 * Why not the browser's RegExp: it backtracks. `.*x` over an 8 KiB payload without an x takes
 * 300 ms in V8, `.*.*x` does not finish, and a payload is whatever a peer sent, up to 64 KiB
 * held per frame. A filter typed into the inspector must never freeze the window, whatever the
 * pattern and whatever the traffic, so patterns run here instead.
 *
 * Supported: literals, `.`, classes `[a-z0-9_]` and `[^…]`, `\d \w \s` (and `\D \W \S`), `\b \B`,
 * `^ $`, groups `( )` and `(?: )`, `|`, and the quantifiers `* + ? {n} {n,} {n,m}` (lazy forms
 * too: for "is there a match" they mean the same). Flags: i (ignore case), s (`.` matches a
 * newline), m (`^ $` at line ends). Backreferences and lookaround cannot run in linear time and
 * are refused with a plain explanation.
 */

/** A pattern that could not be compiled: where, and what was expected there. */
export class PatternError extends Error {
  constructor(readonly position: number, message: string) {
    super(message);
  }
}

/** More instructions than this (counted repeats are expanded) and the pattern is refused. */
export const MAX_PROGRAM = 20_000;
export const MAX_PATTERN_LENGTH = 1000;

type CharTest = (c: number) => boolean;
type Node =
  | { t: 'char'; test: CharTest }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; options: Node[] }
  | { t: 'repeat'; node: Node; min: number; max: number } // max: Infinity for unbounded
  | { t: 'assert'; kind: 'bol' | 'eol' | 'word' | 'nonword' };

type Inst =
  | { op: 'char'; test: CharTest }
  | { op: 'split'; a: number; b: number }
  | { op: 'jmp'; to: number }
  | { op: 'assert'; kind: 'bol' | 'eol' | 'word' | 'nonword' }
  | { op: 'match' };

const isDigit: CharTest = (c) => c >= 48 && c <= 57;
const isWord: CharTest = (c) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpace: CharTest = (c) => c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c < 128 ? c : String.fromCharCode(c).toLowerCase().charCodeAt(0);
}
function upper(c: number): number {
  return c >= 97 && c <= 122 ? c - 32 : c < 128 ? c : String.fromCharCode(c).toUpperCase().charCodeAt(0);
}

class Parser {
  private i = 0;
  constructor(private readonly src: string, private readonly ignoreCase: boolean, private readonly dotAll: boolean) {}

  parse(): Node {
    const node = this.alternation(0);
    if (this.i < this.src.length) throw new PatternError(this.i, this.src[this.i] === ')' ? 'an unmatched ")"' : `unexpected "${this.src[this.i]}"`);
    return node;
  }

  private alternation(depth: number): Node {
    if (depth > 100) throw new PatternError(this.i, 'groups nested more than 100 deep');
    const options = [this.sequence(depth)];
    while (this.src[this.i] === '|') {
      this.i++;
      options.push(this.sequence(depth));
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  private sequence(depth: number): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const start = this.i;
      let atom = this.atom(depth);
      for (;;) {
        const q = this.quantifier();
        if (!q) break;
        if (atom.t === 'assert') throw new PatternError(start, 'a quantifier after an anchor (^, $, \\b) repeats nothing');
        atom = { t: 'repeat', node: atom, min: q.min, max: q.max };
      }
      items.push(atom);
    }
    return items.length === 1 ? items[0]! : { t: 'seq', items };
  }

  private quantifier(): { min: number; max: number } | null {
    const c = this.src[this.i];
    let q: { min: number; max: number } | null = null;
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    else if (c === '{') {
      const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(this.src.slice(this.i));
      if (!m) return null; // a literal "{", as in JavaScript without the u flag
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (max < min) throw new PatternError(this.i, `{${min},${max}}: the maximum is below the minimum`);
      this.i += m[0].length;
      if (this.src[this.i] === '?') this.i++;
      return { min, max };
    }
    if (!q) return null;
    this.i++;
    if (this.src[this.i] === '?') this.i++; // lazy: the same answer to "is there a match"
    return q;
  }

  private atom(depth: number): Node {
    const at = this.i;
    const c = this.src[this.i++]!;
    switch (c) {
      case '(': {
        if (this.src[this.i] === '?') {
          if (this.src[this.i + 1] === ':') this.i += 2;
          else throw new PatternError(at, 'lookaround and named groups are not supported: they cannot be matched in linear time (use (?: ) for a group)');
        }
        const inner = this.i < this.src.length && this.src[this.i] === ')' ? { t: 'seq' as const, items: [] } : this.alternation(depth + 1);
        if (this.src[this.i] !== ')') throw new PatternError(this.i, 'a ")" to close the group opened at ' + (at + 1));
        this.i++;
        return inner;
      }
      case ')': throw new PatternError(at, 'an unmatched ")"');
      case '*': case '+': case '?': throw new PatternError(at, `"${c}" with nothing before it to repeat`);
      case '[': return this.charClass(at);
      case '.': return { t: 'char', test: this.dotAll ? () => true : (x) => x !== 10 && x !== 13 && x !== 0x2028 && x !== 0x2029 };
      case '^': return { t: 'assert', kind: 'bol' };
      case '$': return { t: 'assert', kind: 'eol' };
      case '\\': {
        if (this.i >= this.src.length) throw new PatternError(at, 'a character after the final "\\"');
        const e = this.src[this.i]!;
        if (e === 'b' || e === 'B') {
          this.i++;
          return { t: 'assert', kind: e === 'b' ? 'word' : 'nonword' };
        }
        if (/[1-9]/.test(e)) throw new PatternError(at, 'backreferences (\\1) are not supported: they cannot be matched in linear time');
        return { t: 'char', test: this.escape(at) };
      }
      default:
        return { t: 'char', test: this.literal(c.charCodeAt(0)) };
    }
  }

  private literal(code: number): CharTest {
    if (!this.ignoreCase) return (x) => x === code;
    const l = lower(code);
    return (x) => x === code || lower(x) === l;
  }

  /** After a backslash (this.i at the escaped character): the character test. */
  private escape(at: number): CharTest {
    const e = this.src[this.i++]!;
    switch (e) {
      case 'd': return isDigit;
      case 'D': return (c) => !isDigit(c);
      case 'w': return isWord;
      case 'W': return (c) => !isWord(c);
      case 's': return isSpace;
      case 'S': return (c) => !isSpace(c);
      case 'n': return (c) => c === 10;
      case 'r': return (c) => c === 13;
      case 't': return (c) => c === 9;
      case 'f': return (c) => c === 12;
      case 'v': return (c) => c === 11;
      case '0': return (c) => c === 0;
      case 'x': case 'u': {
        const len = e === 'x' ? 2 : 4;
        const digits = this.src.slice(this.i, this.i + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(digits)) throw new PatternError(at, `\\${e} followed by ${len} hex digits`);
        this.i += len;
        return this.literal(parseInt(digits, 16));
      }
      default:
        if (/[a-zA-Z]/.test(e)) throw new PatternError(at, `"\\${e}" is not an escape this search knows (\\d \\w \\s \\b \\n \\t \\xHH \\uHHHH, or \\ before a symbol)`);
        return this.literal(e.charCodeAt(0));
    }
  }

  private charClass(at: number): Node {
    let negate = false;
    if (this.src[this.i] === '^') {
      negate = true;
      this.i++;
    }
    const tests: CharTest[] = [];
    let first = true;
    while (this.i < this.src.length && (this.src[this.i] !== ']' || first)) {
      first = false;
      const lo = this.classChar(at);
      if (typeof lo === 'function') {
        tests.push(lo);
        continue;
      }
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        const hi = this.classChar(at);
        if (typeof hi === 'function') throw new PatternError(this.i, 'a character, not a class like \\d, at the end of a range');
        if (hi < lo) throw new PatternError(this.i, `a range whose end comes after its start (${String.fromCharCode(lo)}-${String.fromCharCode(hi)} is backwards)`);
        tests.push(this.ignoreCase ? (c) => (c >= lo && c <= hi) || (lower(c) >= lo && lower(c) <= hi) || (upper(c) >= lo && upper(c) <= hi) : (c) => c >= lo && c <= hi);
      } else {
        tests.push(this.literal(lo));
      }
    }
    if (this.src[this.i] !== ']') throw new PatternError(at, 'a "]" to close the character class');
    this.i++;
    const any: CharTest = (c) => tests.some((t) => t(c));
    return { t: 'char', test: negate ? (c) => !any(c) : any };
  }

  private classChar(at: number): number | CharTest {
    const c = this.src[this.i]!;
    if (c !== '\\') {
      this.i++;
      return c.charCodeAt(0);
    }
    if (this.i + 1 >= this.src.length) throw new PatternError(at, 'a "]" to close the character class');
    this.i++;
    const e = this.src[this.i]!;
    if (e === 'b') {
      this.i++;
      return 8; // [\b] is a backspace
    }
    const test = this.escape(this.i - 1);
    return test;
  }
}

function compileNode(node: Node, prog: Inst[]): void {
  if (prog.length > MAX_PROGRAM) throw new PatternError(0, `a shorter pattern (its counted repeats expand past ${MAX_PROGRAM} steps)`);
  switch (node.t) {
    case 'char': prog.push({ op: 'char', test: node.test }); return;
    case 'assert': prog.push({ op: 'assert', kind: node.kind }); return;
    case 'seq': for (const item of node.items) compileNode(item, prog); return;
    case 'alt': {
      const jumps: Array<{ op: 'jmp'; to: number }> = [];
      node.options.forEach((option, k) => {
        if (k < node.options.length - 1) {
          const split: Inst = { op: 'split', a: prog.length + 1, b: 0 };
          prog.push(split);
          compileNode(option, prog);
          const jmp = { op: 'jmp' as const, to: 0 };
          prog.push(jmp);
          jumps.push(jmp);
          split.b = prog.length;
        } else {
          compileNode(option, prog);
        }
      });
      for (const j of jumps) j.to = prog.length;
      return;
    }
    case 'repeat': {
      for (let k = 0; k < node.min; k++) compileNode(node.node, prog);
      if (node.max === Infinity) {
        const split: Inst = { op: 'split', a: prog.length + 1, b: 0 };
        const loop = prog.length;
        prog.push(split);
        compileNode(node.node, prog);
        prog.push({ op: 'jmp', to: loop });
        split.b = prog.length;
      } else {
        const splits: Array<Extract<Inst, { op: 'split' }>> = [];
        for (let k = node.min; k < node.max; k++) {
          const split: Inst = { op: 'split', a: prog.length + 1, b: 0 };
          splits.push(split);
          prog.push(split);
          compileNode(node.node, prog);
        }
        for (const s of splits) s.b = prog.length;
      }
    }
  }
}

export interface LinearRegex {
  readonly source: string;
  /** Whether the pattern matches anywhere in the text: O(text length × program length). */
  test(text: string): boolean;
}

/** Compiles a pattern (throws PatternError with a position and what was expected). */
export function compileLinearRegex(source: string, flags = ''): LinearRegex {
  if (source.length > MAX_PATTERN_LENGTH) throw new PatternError(MAX_PATTERN_LENGTH, `a pattern of at most ${MAX_PATTERN_LENGTH} characters`);
  for (let k = 0; k < flags.length; k++) {
    if (!'ism'.includes(flags[k]!) || flags.indexOf(flags[k]!) !== k) throw new PatternError(source.length, `flags among i, s and m, each once (not "${flags}")`);
  }
  const node = new Parser(source, flags.includes('i'), flags.includes('s')).parse();
  const prog: Inst[] = [];
  compileNode(node, prog);
  prog.push({ op: 'match' });
  const multiline = flags.includes('m');
  return { source, test: (text) => run(prog, text, multiline) };
}

const isLineEnd = (c: number) => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;

function run(prog: Inst[], text: string, multiline: boolean): boolean {
  const n = prog.length;
  let current = new Int32Array(n);
  let next = new Int32Array(n);
  let currentCount = 0;
  let nextCount = 0;
  // A generation number per instruction: the thread list holds each instruction once per step.
  const seen = new Int32Array(n).fill(-1);
  const stack = new Int32Array(n * 2 + 2);
  let generation = 0;

  const add = (list: Int32Array, count: number, start: number, pos: number): number | -1 => {
    let sp = 0;
    stack[sp++] = start;
    while (sp > 0) {
      const pc = stack[--sp]!;
      if (seen[pc] === generation) continue;
      seen[pc] = generation;
      const inst = prog[pc]!;
      switch (inst.op) {
        case 'jmp': stack[sp++] = inst.to; break;
        case 'split': stack[sp++] = inst.b; stack[sp++] = inst.a; break;
        case 'assert':
          if (assertHolds(inst.kind, text, pos, multiline)) stack[sp++] = pc + 1;
          break;
        case 'match': return -1;
        case 'char': list[count++] = pc; break;
      }
    }
    return count;
  };

  for (let pos = 0; pos <= text.length; pos++) {
    // Unanchored: a new thread starts at every position.
    const added = add(current, currentCount, 0, pos);
    if (added === -1) return true;
    currentCount = added;
    if (pos === text.length) break;
    const c = text.charCodeAt(pos);
    generation++;
    nextCount = 0;
    for (let k = 0; k < currentCount; k++) {
      const pc = current[k]!;
      const inst = prog[pc] as Extract<Inst, { op: 'char' }>;
      if (inst.test(c)) {
        const r = add(next, nextCount, pc + 1, pos + 1);
        if (r === -1) return true;
        nextCount = r;
      }
    }
    [current, next] = [next, current];
    currentCount = nextCount;
  }
  return false;
}

function assertHolds(kind: 'bol' | 'eol' | 'word' | 'nonword', text: string, pos: number, multiline: boolean): boolean {
  switch (kind) {
    case 'bol': return pos === 0 || (multiline && isLineEnd(text.charCodeAt(pos - 1)));
    case 'eol': return pos === text.length || (multiline && isLineEnd(text.charCodeAt(pos)));
    default: {
      const before = pos > 0 && isWord(text.charCodeAt(pos - 1));
      const after = pos < text.length && isWord(text.charCodeAt(pos));
      return (before !== after) === (kind === 'word');
    }
  }
}
