/**
 * The renderer-safe half of the battery's compressed cases (categories 12 and 13): how a case
 * negotiates permessage-deflate, in data, and the messages it sends. No node import: the app's
 * Conformance tab lists the cases. The half that compresses is deflate.ts.
 *
 * Messages: five corpora made here (Autobahn ships files; these are generated, deterministic,
 * ASCII where they are sent as text so any slice is valid UTF-8): JSON, a bitmap, prose, HTML
 * and a PDF-like mix of structure and incompressible streams. A case takes consecutive slices,
 * wrapping around, as Autobahn does.
 */

import { concatBytes } from '../bytes.ts';

/**
 * One offer we make (server under test), as our client's permessage-deflate options (the
 * parameters of DeflateOptions in extensions/permessage-deflate.ts, restated here because that
 * module needs node:zlib): server_no_context_takeover and server_max_window_bits ask the server
 * (RFC 7692 §7.1.1.1, §7.1.2.1); client_max_window_bits true offers it without a value, a number
 * promises that window (§7.1.2.2).
 */
export interface DeflateOffer {
  serverNoContextTakeover?: boolean;
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number | boolean;
}

/** One way the server (us, when a client is under test) answers an offer. */
export interface DeflateAnswer {
  /** Ask the client to empty its window before each message (§7.1.1.2). */
  clientNoContextTakeover?: boolean;
  /** Limit the client's window to 2^N bytes (§7.1.2.2); only possible when the offer has client_max_window_bits. */
  clientMaxWindowBits?: number;
}

export interface CaseDeflate {
  /** Server under test: our offers, in order of preference (our client's deflate options). */
  offers: readonly DeflateOffer[];
  /** Client under test: our answers, tried in order on each offer (the first that fits is used). */
  answers: readonly DeflateAnswer[];
  /** The offers and answers in words, for descriptions and wire logs. */
  summary: string;
}

// ------------------------------------------------------------------------------------ corpora

/** mulberry32: a small deterministic generator, so every run sends the same bytes. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CORPUS_SIZE = 256 * 1024;
const enc = new TextEncoder();
const words = ['the', 'window', 'of', 'a', 'message', 'and', 'its', 'echo', 'night', 'over', 'quiet', 'river', 'where', 'light', 'falls', 'slowly', 'through', 'old', 'stone', 'arches', 'while', 'voices', 'answer', 'from', 'far', 'away', 'Faust', 'study', 'spirit', 'earth', 'heaven', 'book', 'learned', 'nothing', 'more', 'than', 'before'];

function textOf(rnd: () => number, piece: (rnd: () => number, i: number) => string): Uint8Array {
  let s = '';
  for (let i = 0; s.length < CORPUS_SIZE; i++) s += piece(rnd, i);
  return enc.encode(s.slice(0, CORPUS_SIZE));
}

const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;

export type CorpusName = 'json' | 'bitmap' | 'prose' | 'html' | 'pdf';

export interface Corpus {
  /** In words, for descriptions. */
  description: string;
  /** Sent as binary messages (else text: then it is ASCII, so every slice is valid UTF-8). */
  binary: boolean;
  make(): Uint8Array;
}

export const corpora: Readonly<Record<CorpusName, Corpus>> = {
  json: {
    description: 'JSON records', binary: false,
    make: () => textOf(random(1), (rnd, i) => `${i === 0 ? '[' : ','}{"id":${i},"name":"${pick(rnd, words)} ${pick(rnd, words)}","active":${rnd() < 0.5},"score":${(rnd() * 1000).toFixed(2)},"tags":["${pick(rnd, words)}","${pick(rnd, words)}"],"address":{"city":"${pick(rnd, words)}ville","zip":"${Math.floor(rnd() * 90000) + 10000}"}}\n`),
  },
  bitmap: {
    description: 'a 512x512 grey bitmap', binary: true,
    make: () => {
      const rnd = random(2);
      const out = new Uint8Array(CORPUS_SIZE);
      out.set(enc.encode('BM')); // a bitmap file's signature; the rest is pixels
      for (let i = 2; i < out.length; i++) {
        const x = i % 512;
        const y = Math.floor(i / 512);
        const shade = (x + y) / 4 + 40 * Math.sin(x / 23) * Math.cos(y / 31);
        out[i] = (Math.floor(shade) + Math.floor(rnd() * 6)) & 0xff;
      }
      return out;
    },
  },
  prose: {
    description: 'prose (sent as binary)', binary: true,
    make: () => textOf(random(3), (rnd, i) => {
      const n = 6 + Math.floor(rnd() * 12);
      const sentence = Array.from({ length: n }, () => pick(rnd, words)).join(' ');
      return `${sentence[0]!.toUpperCase()}${sentence.slice(1)}${i % 7 === 6 ? '.\n\n' : '. '}`;
    }),
  },
  html: {
    description: 'HTML markup', binary: false,
    make: () => textOf(random(4), (rnd, i) => `<div class="row ${pick(rnd, ['odd', 'even', 'new'])}" id="r${i}"><span class="name">${pick(rnd, words)}</span><a href="/items/${Math.floor(rnd() * 10000)}">${pick(rnd, words)} ${pick(rnd, words)}</a><p>${pick(rnd, words)} ${pick(rnd, words)} ${pick(rnd, words)}</p></div>\n`),
  },
  pdf: {
    description: 'a PDF-like file (mostly compressed streams: little left to gain)', binary: true,
    make: () => {
      const rnd = random(5);
      const parts: Uint8Array[] = [];
      let size = 0;
      for (let i = 1; size < CORPUS_SIZE; i++) {
        const stream = new Uint8Array(512 + Math.floor(rnd() * 2048));
        for (let j = 0; j < stream.length; j++) stream[j] = Math.floor(rnd() * 256);
        const head = enc.encode(`${i} 0 obj\n<< /Length ${stream.length} /Filter /FlateDecode >>\nstream\n`);
        const tail = enc.encode('\nendstream\nendobj\n');
        parts.push(head, stream, tail);
        size += head.length + stream.length + tail.length;
      }
      return concatBytes(parts).subarray(0, CORPUS_SIZE);
    },
  },
};

const made = new Map<CorpusName, Uint8Array>();

/** `count` consecutive slices of `size` bytes of a corpus, wrapping around at its end. */
export function corpusSlices(name: CorpusName, size: number, count: number): Uint8Array[] {
  let data = made.get(name);
  if (!data) {
    data = corpora[name].make();
    made.set(name, data);
  }
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const piece = new Uint8Array(size);
    for (let filled = 0; filled < size;) {
      const n = Math.min(size - filled, data.length - at);
      piece.set(data.subarray(at, at + n), filled);
      filled += n;
      at = (at + n) % data.length;
    }
    out.push(piece);
  }
  return out;
}
