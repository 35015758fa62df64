/**
 * The elements of one array inside a JSON document fed in chunks (a JSON export's "records", a
 * HAR file's "log.entries"), each handed on as soon as it is parsed and then forgotten, so that a
 * document of any size is read in the memory of its largest element, and a cut document still
 * gives every element before the cut. The JSON grammar is @streamparser/json's (a streaming
 * tokenizer and token parser, no dependencies; JSON.parse reads only whole documents). Bounded: an
 * element longer than `maxElementBytes`, or any single token (a string) longer than that, stops
 * reading with one sentence. So does an element of more than `maxElementContainers` objects and
 * arrays or `maxElementValues` values in all: it is built whole in memory, and tiny values cost
 * far more heap than file (measured: "{}," is ~80 bytes of heap per 3 bytes of file, so 256 MiB of
 * them would be ~6.8 GB, past node's heap limit), and nesting past MAX_DEPTH anywhere. Outside the
 * array asked for (found by its keys, so a large "messages" list beside "records" is no error),
 * values are dropped by the parser as soon as they are complete.
 */

import { TokenParser, Tokenizer, TokenType } from '@streamparser/json';

export interface JsonArrayStreamOptions {
  /** Where the array is, as keys from the document's top ("records"; "log", "entries"). */
  path: string[];
  /** Each element, with its index; false stops reading (the reader of the elements failed). */
  onElement: (element: unknown, index: number) => boolean;
  maxElementBytes: number;
  /** Objects and arrays one element may hold (default 1,000,000: ~80 MB of heap at worst). */
  maxElementContainers?: number;
  /** Values (keys, strings, numbers, literals, objects, arrays) one element may hold (default 8,000,000). */
  maxElementValues?: number;
}

/** Deepest nesting read (a JSON export's or HAR's is under ten). */
const MAX_DEPTH = 10_000;

export class JsonArrayStream {
  private readonly tokenizer: Tokenizer;
  private readonly parser: TokenParser;
  private error: string | null = null;
  private stopped = false;
  private fed = 0;
  private first = true;
  /** The containers open around the next token: an object with the key being read (to find the path), or an array. */
  private readonly open: Array<{ object: boolean; key: string | null; expectKey: boolean }> = [];
  /** Offset where the element being parsed began (its first token), or -1 between elements. */
  private elementStart = -1;
  private lastTokenEnd = 0;
  private index = 0;
  /** Objects/arrays and values in the element being parsed. */
  private containers = 0;
  private values = 0;

  constructor(private readonly options: JsonArrayStreamOptions) {
    this.tokenizer = new Tokenizer();
    // keepStack false: an element handed on is not kept in its array.
    this.parser = new TokenParser({ paths: [`$.${[...options.path, '*'].join('.')}`], keepStack: false });
    const elementDepth = options.path.length + 1;
    this.tokenizer.onToken = (info) => {
      if (this.stopped) return;
      const { token, offset } = info;
      const top = this.open.at(-1);
      if (top?.object) {
        if (top.expectKey && token === TokenType.STRING) {
          top.key = info.value as string;
          top.expectKey = false;
        } else if (token === TokenType.COMMA) {
          top.expectKey = true;
        }
      }
      if (this.elementStart < 0 && token !== TokenType.COMMA && token !== TokenType.RIGHT_BRACKET && this.inTargetArray(elementDepth)) this.elementStart = offset;
      if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) {
        // The parser keeps a stack entry per level: a document of "[[[[…" must not grow it without end.
        if (this.open.length >= MAX_DEPTH) return this.fail(`the JSON is nested more than ${MAX_DEPTH} deep near byte ${offset}`, true);
        this.open.push({ object: token === TokenType.LEFT_BRACE, key: null, expectKey: token === TokenType.LEFT_BRACE });
        if (this.elementStart >= 0) this.containers++;
      } else if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) {
        this.open.pop();
      }
      this.lastTokenEnd = offset + 1;
      if (this.elementStart >= 0 && token !== TokenType.COMMA && token !== TokenType.COLON && token !== TokenType.RIGHT_BRACE && token !== TokenType.RIGHT_BRACKET) {
        this.values++;
        const maxContainers = this.options.maxElementContainers ?? 1_000_000;
        const maxValues = this.options.maxElementValues ?? 8_000_000;
        if (this.containers > maxContainers) return this.fail(`element ${this.index + 1} holds more than ${maxContainers} objects and arrays`, true);
        if (this.values > maxValues) return this.fail(`element ${this.index + 1} holds more than ${maxValues} values`, true);
      }
      this.parser.write(info);
    };
    this.tokenizer.onError = (error) => this.fail(error.message);
    this.parser.onError = (error) => this.fail(error.message);
    this.parser.onValue = ({ value }) => {
      if (this.stopped) return;
      this.elementStart = -1;
      this.containers = 0;
      this.values = 0;
      if (!this.options.onElement(value, this.index++)) this.stopped = true;
    };
  }

  /** Is the next token at the top of an element of the array asked for (the keys along its path match)? */
  private inTargetArray(elementDepth: number): boolean {
    if (this.open.length !== elementDepth || this.open[elementDepth - 1]!.object) return false;
    const path = this.options.path;
    for (let i = 0; i < path.length; i++) if (!this.open[i]!.object || this.open[i]!.key !== path[i]) return false;
    return true;
  }

  /** Elements handed on so far. */
  get count(): number {
    return this.index;
  }

  /** Feeds bytes; false once reading has stopped (broken JSON, a bound, or the reader's own stop). */
  write(chunk: Uint8Array): boolean {
    if (this.stopped) return false;
    let bytes = chunk;
    // A byte order mark (browsers' HAR files may start with one) is not JSON.
    if (this.first && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    this.first = false;
    try {
      this.tokenizer.write(bytes);
    } catch (error) {
      this.fail((error as Error).message);
    }
    this.fed += bytes.length;
    const max = this.options.maxElementBytes;
    if (!this.stopped && this.fed - this.lastTokenEnd > max) this.fail(`a JSON value near byte ${this.lastTokenEnd} is longer than ${max} bytes`, true);
    else if (!this.stopped && this.elementStart >= 0 && this.fed - this.elementStart > max) this.fail(`element ${this.index + 1} is longer than ${max} bytes`, true);
    return !this.stopped;
  }

  /** The file ended: why the document was not read whole, or null. */
  end(): string | null {
    if (!this.stopped) {
      try {
        this.tokenizer.end();
      } catch (error) {
        this.fail((error as Error).message);
      }
      if (!this.stopped && !this.parser.isEnded) this.fail('ended');
    }
    return this.error;
  }

  private fail(message: string, plain = false): void {
    if (this.stopped) return;
    this.stopped = true;
    const cut = /ended/i.test(message);
    this.error = plain
      ? message
      : cut
        ? `the file ends before its JSON does (cut short after ${this.fed} bytes)`
        : `the JSON is broken near byte ${this.lastTokenEnd} (${message.replace(/\s+/g, ' ').slice(0, 120)})`;
  }
}
