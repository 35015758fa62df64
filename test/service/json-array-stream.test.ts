import { describe, expect, it } from 'vitest';
import { JsonArrayStream } from '../../src/service/json-array-stream.ts';

function read(text: string | Uint8Array, options: { path?: string[]; max?: number; piece?: number; stopAt?: number; maxValues?: number } = {}) {
  const elements: unknown[] = [];
  const stream = new JsonArrayStream({
    path: options.path ?? ['records'], maxElementBytes: options.max ?? 1024,
    ...(options.maxValues !== undefined ? { maxElementValues: options.maxValues } : {}),
    onElement: (element, index) => {
      elements.push(element);
      return index + 1 !== options.stopAt;
    },
  });
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const piece = options.piece ?? bytes.length;
  for (let at = 0; at < bytes.length; at += piece) if (!stream.write(bytes.subarray(at, at + piece))) break;
  return { elements, error: stream.end() };
}

const doc = '{"format":"x","records":[{"a":1},{"b":[1,2,{"c":"\\u00e9\\n"}]},"s",3],"messages":[{"big":"' + 'x'.repeat(5000) + '"}]}';

describe('JsonArrayStream', () => {
  it('hands on each element of the array, the same however the bytes are split, and nothing outside it', () => {
    const whole = read(doc, { max: 10_000 });
    expect(whole).toEqual({ elements: [{ a: 1 }, { b: [1, 2, { c: 'é\n' }] }, 's', 3], error: null });
    for (const piece of [1, 2, 7, 64]) expect(read(doc, { piece, max: 10_000 })).toEqual(whole);
    expect(read(`\ufeff{"log":{"version":"1.2","entries":[{"x":1},{"y":2}]}}`, { path: ['log', 'entries'] })).toEqual({ elements: [{ x: 1 }, { y: 2 }], error: null });
  });

  it('a cut or broken document: the elements before the cut, and one sentence', () => {
    const cut = read(doc.slice(0, doc.indexOf('"s"') - 1));
    expect(cut.elements).toEqual([{ a: 1 }, { b: [1, 2, { c: 'é\n' }] }]);
    expect(cut.error).toMatch(/^the file ends before its JSON does \(cut short after \d+ bytes\)$/);
    const broken = read('{"records":[{"a":1},{"a":}]}');
    expect(broken.elements).toEqual([{ a: 1 }]);
    expect(broken.error).toMatch(/^the JSON is broken near byte \d+ \(.+\)$/);
  });

  it('bounded: an element or a single string longer than the bound stops reading, as does the reader', () => {
    const long = read(`{"records":[{"a":1},{"b":[${'1,'.repeat(2000)}1]}]}`, { piece: 100 });
    expect(long).toEqual({ elements: [{ a: 1 }], error: 'element 2 is longer than 1024 bytes' });
    // A string outside the array is never kept, but the tokenizer would buffer it: bounded too.
    expect(read(doc, { piece: 100 }).error).toMatch(/^a JSON value near byte \d+ is longer than 1024 bytes$/);
    expect(read(doc, { stopAt: 2, max: 10_000 })).toEqual({ elements: [{ a: 1 }, { b: [1, 2, { c: 'é\n' }] }], error: null });
  });
  it('bounded in memory, not only in bytes: an element made of many tiny values stops reading (empty objects cost ~80 bytes of heap per 3 bytes of file)', () => {
    // 256 MiB of "{}," in one HAR entry would be ~6.8 GB of heap: the service would die of it.
    const tiny = (n: number, unit: string) => Buffer.from(`{"log":{"entries":[{"ok":1},{"x":[${unit.repeat(n)}0]},{"after":1}]}}`);
    const objects = read(tiny(1_100_000, '{},'), { path: ['log', 'entries'], max: 256 * 1024 * 1024, piece: 65536 });
    expect(objects.elements).toEqual([{ ok: 1 }]);
    expect(objects.error).toMatch(/element 2 holds more than 1000000 objects and arrays/);
    // Values of any kind are bounded too (8,000,000 by default; a smaller bound here to stay quick).
    const numbers = read(tiny(300_000, '0,'), { path: ['log', 'entries'], max: 256 * 1024 * 1024, piece: 65536, maxValues: 200_000 });
    expect(numbers.elements).toEqual([{ ok: 1 }]);
    expect(numbers.error).toMatch(/element 2 holds more than 200000 values/);
    // Under the bounds, such an element is read whole.
    const fine = read(tiny(100_000, '{},'), { path: ['log', 'entries'], max: 256 * 1024 * 1024, piece: 65536 });
    expect(fine.error).toBeNull();
    expect(fine.elements).toHaveLength(3);
  });
  it('bounds only the array asked for: a valid export\'s large "messages" after its records, or a HAR\'s "pages" before its entries, is no error', () => {
    const big = JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ text: 'm'.repeat(100), i })));
    const json = read(`{"format":"x","records":[{"a":1},{"b":2}],"messages":${big}}`, { max: 2048, piece: 4096 });
    expect(json).toEqual({ elements: [{ a: 1 }, { b: 2 }], error: null });
    const har = read(`{"log":{"version":"1.2","pages":${big},"entries":[{"x":1}]}}`, { path: ['log', 'entries'], max: 2048, piece: 4096 });
    expect(har).toEqual({ elements: [{ x: 1 }], error: null });
  });

  it('bounds nesting anywhere in the document (the parser keeps a stack entry per level)', () => {
    const deepOutside = read(`{"other":${'['.repeat(50_000)}`, { max: 1 << 20, piece: 4096 });
    expect(deepOutside.error).toMatch(/nested more than 10000 deep/);
    const deepInside = read(`{"records":[{"a":1},${'['.repeat(50_000)}`, { max: 1 << 20, piece: 4096 });
    expect(deepInside.elements).toEqual([{ a: 1 }]);
    expect(deepInside.error).toMatch(/nested more than 10000 deep/);
  });
});
