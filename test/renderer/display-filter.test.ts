/**
 * The display-filter language: what each form selects, errors with a column and what was
 * expected, completion, and hostile input (deep nesting, huge strings, catastrophic regexes).
 */
import { describe, expect, it } from 'vitest';
import { compileFilter, completeAt, FilterError, MAX_DEPTH, MAX_FILTER_LENGTH, parseHexBytes, tryCompileFilter, type FilterSubject } from '../../src/renderer/src/lib/display-filter.ts';

function subject(p: Partial<FilterSubject> & { text?: string; wire?: number[] } = {}): FilterSubject {
  const text = p.text ?? '';
  const bytes = new TextEncoder().encode(text);
  return {
    opcode: 1, length: bytes.length, direction: 'in', violation: false, compressed: false, fin: true, masked: true,
    rsv1: false, rsv2: false, rsv3: false, connectionId: 'server1:1', id: 1, frames: 1, edited: false, closeCode: null,
    payloadText: () => text, payloadBytes: () => bytes, wireBytes: () => Uint8Array.from(p.wire ?? [0x81, bytes.length, ...bytes]),
    ...p,
  };
}

const ping = subject({ opcode: 9, text: 'x'.repeat(120), length: 120 });
const smallPing = subject({ opcode: 9, text: 'hi' });
const text = subject({ text: '{"orderId": 42}' });
const sent = subject({ direction: 'out', text: 'pad '.repeat(80) + 'needle', masked: false });
const bad = subject({ violation: true, opcode: 3 });
const close = subject({ opcode: 8, closeCode: 1002, connectionId: 'server1:3' });
const zipped = subject({ compressed: true, rsv1: true });
const all = [ping, smallPing, text, sent, bad, close, zipped];

function select(filter: string): FilterSubject[] {
  const compiled = compileFilter(filter);
  return all.filter((s) => compiled.test(s));
}

describe('display filter', () => {
  it('selects by each field and joins tests with && || ! and parentheses', () => {
    expect(select('opcode == ping && len > 100')).toEqual([ping]);
    expect(select('opcode == 9')).toEqual([ping, smallPing]);
    expect(select('opcode == 0x9')).toEqual([ping, smallPing]);
    expect(select('dir == in').length).toBe(all.length - 1);
    expect(select('dir == out')).toEqual([sent]);
    expect(select('dir == sent')).toEqual([sent]);
    expect(select('violation')).toEqual([bad]);
    expect(select('!violation').length).toBe(all.length - 1);
    expect(select('not violation and not compressed').length).toBe(all.length - 2);
    expect(select('payload ~ "orderId"')).toEqual([text]);
    expect(select('payload ~ /ORDERID/i')).toEqual([text]);
    expect(select('payload matches "order[A-Z]d"')).toEqual([text]);
    expect(select('payload contains "needle"')).toEqual([sent]);
    expect(select('payload == "hi"')).toEqual([smallPing]);
    expect(select('conn == server1:3')).toEqual([close]);
    expect(select('conn contains ":3"')).toEqual([close]);
    expect(select('compressed')).toEqual([zipped]);
    expect(select('rsv1 == 1')).toEqual([zipped]);
    expect(select('mask == false')).toEqual([sent]);
    expect(select('code >= 1002 && code <= 1015')).toEqual([close]);
    expect(select('code')).toEqual([close]);
    expect(select('control')).toEqual([ping, smallPing, close]);
    expect(select('(opcode == ping || opcode == close) && !(len > 100)')).toEqual([smallPing, close]);
    expect(select('opcode == ping || violation && dir == in')).toEqual([ping, smallPing, bad]); // && binds tighter
    expect(select('wire contains hex:81:02')).toEqual([smallPing]);
    expect(select('payload contains hex:6869')).toEqual([smallPing]);
    expect(select('payload ~ "order\\w+\\W+\\d"')).toEqual([text]);
    expect(select('payload ~ "\\d\\d}"')).toEqual([text]);
    expect(select('')).toEqual(all);
    expect(select('  ')).toEqual(all);
    expect(compileFilter('conn == a || dir == in').usesConnection).toBe(true);
    expect(compileFilter('dir == in').usesConnection).toBe(false);
  });

  it('explains errors: the column and what was expected there', () => {
    const errors: Array<[string, number, RegExp]> = [
      ['opcod == ping', 1, /a field name \(did you mean opcode\?\)/],
      ['opcode ==', 10, /ping, pong or a number after opcode ==, found the end of the filter/],
      ['opcode == pings', 11, /continuation, text, binary, close, ping, pong/],
      ['len > big', 7, /a number after len >/],
      ['dir == up', 8, /in, out after dir ==/],
      ['(dir == in', 11, /"\)" to close the "\(" at column 1/],
      ['dir == in)', 10, /this "\)" closes no group/],
      ['dir == in dir == out', 11, /&& or \|\| between two tests/],
      ['payload ~ "(a"', 14, /in the regular expression, a "\)" to close the group/],
      ['payload ~ "(a)\\1"', 15, /backreferences/],
      ['payload ~ order', 11, /a regular expression in quotes or slashes/],
      ['len ~ "1"', 7, /"~" only after payload or conn/],
      ['payload contains "x', 18, /a closing " for the string/],
      ['wire contains hex:8', 19, /hex bytes after hex:/],
      ['violation violation', 11, /an operator after "violation"/],
      ['&& dir == in', 1, /a field name/],
      ['dir == in &&', 13, /a field name .*found the end of the filter/],
      ['len # 3', 5, /a field name, a value, an operator/],
      ['dir > in', 5, /== or != for dir/],
    ];
    for (const [filter, column, expected] of errors) {
      const { error } = tryCompileFilter(filter);
      expect(error, filter).toBeInstanceOf(FilterError);
      expect(error!.message, filter).toMatch(expected);
      expect(error!.column, filter).toBe(column);
      expect(error!.message, filter).toMatch(/^Column \d+: expected /);
    }
  });

  it('bounds hostile input: deep nesting, huge strings, long filters, catastrophic regexes', () => {
    // Nesting just within the bound works; past it is refused plainly, not a stack overflow.
    const deep = (n: number) => '('.repeat(n) + 'violation' + ')'.repeat(n);
    expect(select(deep(MAX_DEPTH))).toEqual([bad]);
    expect(tryCompileFilter(deep(MAX_DEPTH + 1)).error?.message).toMatch(/at most 50 nested/);
    expect(tryCompileFilter('!'.repeat(60) + 'violation').error?.message).toMatch(/at most 50 nested/);
    expect(tryCompileFilter('('.repeat(100_000)).error?.message).toMatch(/at most 2000 characters/);
    expect(tryCompileFilter(`payload contains "${'x'.repeat(MAX_FILTER_LENGTH)}"`).error?.message).toMatch(/at most 2000 characters/);
    // A long but legal string is fine.
    expect(tryCompileFilter(`payload contains "${'x'.repeat(1900)}"`).error).toBeNull();
    // Regexes that never end in a backtracking engine, over 64 KiB payloads, answer.
    const huge = subject({ text: 'a'.repeat(64 * 1024) });
    for (const re of ['(a+)+b', '.*.*.*x', '(a|aa)*c', '(?:a*)*b']) {
      expect(compileFilter(`payload ~ "${re}"`).test(huge), re).toBe(false);
    }
    // Control characters and quotes inside strings do not break the tokenizer.
    expect(tryCompileFilter('payload contains "a\\"b\\\\c\u0000"').error).toBeNull();
    expect(tryCompileFilter('payload == \'single\'').error).toBeNull();
  });

  it('completes field names, operators and values at the cursor', () => {
    const labels = (input: string, cursor = input.length) => completeAt(input, cursor).options.map((o) => o.label);
    expect(labels('')).toContain('opcode');
    expect(labels('op')).toEqual(['opcode']);
    expect(labels('dir == in && v')).toEqual(['violation']);
    expect(labels('opcode == p')).toEqual(['ping', 'pong']);
    expect(labels('dir == ')).toEqual(['in', 'out']);
    expect(labels('len ')).toEqual(['==', '!=', '<', '<=', '>', '>=', '&&', '||']);
    expect(labels('payload ')).toContain('~');
    expect(labels('violation ')).toContain('&&');
    expect(labels('(comp')).toEqual(['compressed']);
    const c = completeAt('dir == in && vio', 16);
    expect([c.from, c.to]).toEqual([13, 16]);
    expect(labels('"unterminated')).toEqual([]);
  });

  it('parses hex bytes in the forms people type', () => {
    expect(Array.from(parseHexBytes('81 05')!)).toEqual([0x81, 0x05]);
    expect(Array.from(parseHexBytes('81:05')!)).toEqual([0x81, 0x05]);
    expect(Array.from(parseHexBytes('8105')!)).toEqual([0x81, 0x05]);
    expect(parseHexBytes('810')).toBeNull();
    expect(parseHexBytes('zz')).toBeNull();
    expect(parseHexBytes('')).toBeNull();
  });
});
