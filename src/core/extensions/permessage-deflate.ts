/**
 * permessage-deflate (RFC 7692 §7): negotiation with every parameter, both roles, and the data
 * transformation (raw DEFLATE through node:zlib, driven synchronously by zlib-stream.ts).
 *
 * How ws (lib/permessage-deflate.js) and python-websockets (extensions/permessage_deflate.py) do
 * it taught the shape; where they differ, the choice is said where it is made.
 *
 * windowBits 8. RFC 7692 allows 8..15 (§7.1.2.1, §7.1.2.2), but zlib's raw deflate does not
 * support 8: zlib's manual says "a windowBits value of 8 (a window size of 256 bytes) is not
 * supported", Node quietly turns it into 9 for a raw deflate stream, python-websockets' docs warn
 * that 8 is "rejected by some versions of zlib", and ws passes the value on to Node. We map 8 to 9
 * explicitly, and it stays within the agreement both ways:
 *  - compressing: zlib never refers further back than its window minus 262 bytes (MAX_DIST), so a
 *    9-bit (512-byte) compressor reaches at most 250 bytes back, inside the 256 bytes promised;
 *  - decompressing: a 9-bit window holds everything an 8-bit sender can refer to.
 * The trace shows both the agreed value and the one zlib gets (TracedDeflateSettings.zlibWindowBits).
 */

import { concatBytes } from '../bytes.ts';
import { Opcode } from '../constants.ts';
import { ProtocolViolation } from '../errors.ts';
import type { TracedAgreedExtension, TracedAgreedParam, TracedDeflateSettings, TracedMessageCompression } from '../trace.ts';
import type {
  ClientExtensionNegotiator, DecodedChunk, EncodedMessage, Extension, ExtensionElement, ExtensionParam, NegotiationVerdict, RsvBits,
  ServerExtensionNegotiator,
} from './extension.ts';
import { DEFLATE_TAIL, stripDeflateTail } from './deflate-tail.ts';
import { DeflateDataError, RawDeflateStream, Z_SYNC_FLUSH } from './zlib-stream.ts';

export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** RFC 7692 §6: "This document allocates the RSV1 bit of the WebSocket header for PMCEs". */
const RSV: RsvBits = { rsv1: true, rsv2: false, rsv3: false };

/** §7.2.1 / §7.2.2: the empty stored block's last 4 octets, stripped on send and put back on receipt. */
export { DEFLATE_TAIL };

/**
 * A sender that ends its DEFLATE stream (BFINAL, §7.2.3.4) starts a new one in the same message;
 * each costs a fresh zlib stream, so a message may do it at most this often (§10.4 of RFC 6455:
 * an endpoint protects itself against what costs it far more than the sender).
 */
const MAX_STREAMS_PER_MESSAGE = 1000;

export interface DeflateOptions {
  /**
   * Server: answer with server_no_context_takeover (our compressor starts every message empty).
   * Client: ask the server for it (§7.1.1.1).
   */
  serverNoContextTakeover?: boolean;
  /**
   * Server: answer with client_no_context_takeover (the client must start every message empty).
   * Client: offer it (a promise not to use context takeover, §7.1.1.2).
   */
  clientNoContextTakeover?: boolean;
  /** Server: the largest window our compressor uses (8..15). Client: ask the server for at most this (§7.1.2.1). */
  serverMaxWindowBits?: number;
  /**
   * Client: true (default) offers client_max_window_bits without a value (the server may then
   * limit our window), a number offers it with that value (we use at most that), false leaves it
   * out. Server: the largest window the client may use, sent when the client offered the
   * parameter (§7.1.2.2: never when it did not).
   */
  clientMaxWindowBits?: number | boolean;
  /** zlib compression level 0..9, -1 for zlib's default (6). */
  level?: number;
  /** zlib memLevel 1..9 (default 8). */
  memLevel?: number;
  /** Messages smaller than this many bytes are sent uncompressed (RSV1 clear). Default 0: all are compressed. */
  threshold?: number;
}

/** What the options mean for ProtocolOptions.deflate: false turns the extension off. */
export type DeflateSetting = false | DeflateOptions | readonly DeflateOptions[];

function checkBits(name: string, value: unknown): void {
  if (value === undefined || value === true || value === false) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 8 || value > 15) {
    throw new RangeError(`${name} must be an integer from 8 to 15 (RFC 7692 §7.1.2), got ${String(value)}.`);
  }
}

/** Throws a RangeError for options that cannot be honoured. */
export function checkDeflateOptions(options: DeflateOptions): void {
  checkBits('serverMaxWindowBits', options.serverMaxWindowBits);
  checkBits('clientMaxWindowBits', options.clientMaxWindowBits);
  if (typeof options.serverMaxWindowBits === 'boolean') throw new RangeError('serverMaxWindowBits must be a number from 8 to 15.');
  if (options.level !== undefined && (!Number.isInteger(options.level) || options.level < -1 || options.level > 9)) throw new RangeError('level must be -1..9.');
  if (options.memLevel !== undefined && (!Number.isInteger(options.memLevel) || options.memLevel < 1 || options.memLevel > 9)) throw new RangeError('memLevel must be 1..9.');
  if (options.threshold !== undefined && (!Number.isInteger(options.threshold) || options.threshold < 0)) throw new RangeError('threshold must be a non-negative integer.');
}

/** zlib's windowBits for an agreed value (8 → 9, see the top of this file). */
export function zlibWindowBits(bits: number): number {
  return Math.max(9, bits);
}

// ---------------------------------------------------------------- parameters

interface Params {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | null;
  /** true: present without a value (offers only). */
  clientMaxWindowBits: number | true | null;
}

type ParamsResult = { ok: true; params: Params } | { ok: false; reason: string; rfcSection: string };

/** §7.1.2.1: "a decimal integer value without leading zeroes between 8 to 15, inclusive". */
function parseBits(value: string | null): number | null {
  if (value === null || !/^(?:8|9|1[0-5])$/.test(value)) return null;
  return Number(value);
}

/**
 * Reads an offer's or a response's parameters. RFC 7692 §7: a server MUST decline an offer with
 * "an extension parameter not defined for use in an offer", "an extension parameter with an
 * invalid value" or "multiple extension parameters with the same name"; a client MUST _Fail the
 * WebSocket Connection_ on a response with the same faults.
 */
function readParams(list: readonly ExtensionParam[], kind: 'offer' | 'response'): ParamsResult {
  const params: Params = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: null, clientMaxWindowBits: null };
  const seen = new Set<string>();
  const bad = (reason: string, rfcSection: string): ParamsResult => ({ ok: false, reason, rfcSection });
  for (const { name, value } of list) {
    const key = name.toLowerCase();
    if (seen.has(key)) return bad(`The ${kind} has "${name}" more than once.`, 'RFC 7692 §7');
    seen.add(key);
    switch (key) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover': {
        const section = key === 'server_no_context_takeover' ? 'RFC 7692 §7.1.1.1' : 'RFC 7692 §7.1.1.2';
        if (value !== null) return bad(`"${name}" has no value, but the ${kind} gives it "${value}".`, section);
        if (key === 'server_no_context_takeover') params.serverNoContextTakeover = true;
        else params.clientNoContextTakeover = true;
        break;
      }
      case 'server_max_window_bits': {
        const bits = parseBits(value);
        if (bits === null) return bad(`server_max_window_bits must be 8 to 15 without leading zeroes, got ${value === null ? 'no value' : `"${value}"`}.`, 'RFC 7692 §7.1.2.1');
        params.serverMaxWindowBits = bits;
        break;
      }
      case 'client_max_window_bits': {
        // §7.1.2.2: in an offer the value is optional; in a response it is required.
        if (value === null && kind === 'offer') {
          params.clientMaxWindowBits = true;
          break;
        }
        const bits = parseBits(value);
        if (bits === null) return bad(`client_max_window_bits ${kind === 'response' ? 'in a response needs a value ' : 'must be '}8 to 15 without leading zeroes, got ${value === null ? 'no value' : `"${value}"`}.`, 'RFC 7692 §7.1.2.2');
        params.clientMaxWindowBits = bits;
        break;
      }
      default:
        return bad(`"${name}" is not a permessage-deflate parameter (the ${kind} may only use server_no_context_takeover, client_no_context_takeover, server_max_window_bits, client_max_window_bits).`, 'RFC 7692 §7');
    }
  }
  return { ok: true, params };
}

function buildElement(p: Params): ExtensionElement {
  const params: ExtensionParam[] = [];
  if (p.serverNoContextTakeover) params.push({ name: 'server_no_context_takeover', value: null });
  if (p.clientNoContextTakeover) params.push({ name: 'client_no_context_takeover', value: null });
  if (p.serverMaxWindowBits !== null) params.push({ name: 'server_max_window_bits', value: String(p.serverMaxWindowBits) });
  if (p.clientMaxWindowBits === true) params.push({ name: 'client_max_window_bits', value: null });
  else if (p.clientMaxWindowBits !== null) params.push({ name: 'client_max_window_bits', value: String(p.clientMaxWindowBits) });
  return { name: PERMESSAGE_DEFLATE, params };
}

/** The settings both ends use once agreed, and what each response parameter means. */
function describeAgreed(response: Params, settings: TracedDeflateSettings): TracedAgreedExtension {
  const params: TracedAgreedParam[] = [];
  if (response.serverNoContextTakeover) {
    params.push({ name: 'server_no_context_takeover', value: null, meaning: 'The server empties its LZ77 window before each message it sends: no server message refers back to an earlier one.', rfcSection: 'RFC 7692 §7.1.1.1' });
  }
  if (response.clientNoContextTakeover) {
    params.push({ name: 'client_no_context_takeover', value: null, meaning: 'The client empties its LZ77 window before each message it sends: no client message refers back to an earlier one.', rfcSection: 'RFC 7692 §7.1.1.2' });
  }
  if (response.serverMaxWindowBits !== null) {
    params.push({ name: 'server_max_window_bits', value: String(response.serverMaxWindowBits), meaning: `The server compresses with an LZ77 window of at most 2^${response.serverMaxWindowBits} = ${2 ** response.serverMaxWindowBits} bytes.`, rfcSection: 'RFC 7692 §7.1.2.1' });
  }
  if (typeof response.clientMaxWindowBits === 'number') {
    params.push({ name: 'client_max_window_bits', value: String(response.clientMaxWindowBits), meaning: `The client compresses with an LZ77 window of at most 2^${response.clientMaxWindowBits} = ${2 ** response.clientMaxWindowBits} bytes.`, rfcSection: 'RFC 7692 §7.1.2.2' });
  }
  if (params.length === 0) {
    params.push({ name: '(none)', value: null, meaning: 'Both sides keep their LZ77 window from message to message (context takeover) and use windows of up to 32,768 bytes.', rfcSection: 'RFC 7692 §7.1' });
  }
  return { name: PERMESSAGE_DEFLATE, params, deflate: settings };
}

interface Local {
  role: 'server' | 'client';
  settings: TracedDeflateSettings;
  options: DeflateOptions;
  agreed: TracedAgreedExtension;
}

// ---------------------------------------------------------------- negotiation

/** The server's side: judges one client offer at a time (negotiateAsServer asks in preference order). */
export function serverDeflateNegotiator(options: DeflateOptions = {}): ServerExtensionNegotiator {
  checkDeflateOptions(options);
  return {
    name: PERMESSAGE_DEFLATE,
    rsv: RSV,
    accept(offer: ExtensionElement): NegotiationVerdict {
      const read = readParams(offer.params, 'offer');
      if (!read.ok) return { ok: false, reason: `Declined: ${read.reason}`, rfcSection: read.rfcSection };
      const o = read.params;
      const r: Params = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: null, clientMaxWindowBits: null };
      // §7.1.1.1: the server accepts server_no_context_takeover by echoing it, and MAY send it unasked.
      r.serverNoContextTakeover = o.serverNoContextTakeover || options.serverNoContextTakeover === true;
      // §7.1.1.2: the server MAY send client_no_context_takeover; we echo the client's own promise too.
      r.clientNoContextTakeover = o.clientNoContextTakeover || options.clientNoContextTakeover === true;
      // §7.1.2.1: an offered server_max_window_bits is accepted "with the same or smaller value";
      // the server MAY send it unasked, to announce a smaller window of its own.
      const ownServerBits = typeof options.serverMaxWindowBits === 'number' ? options.serverMaxWindowBits : null;
      if (o.serverMaxWindowBits !== null || ownServerBits !== null) {
        r.serverMaxWindowBits = Math.min(o.serverMaxWindowBits ?? 15, ownServerBits ?? 15);
      }
      // §7.1.2.2: the server may send client_max_window_bits only if the offer has it; a value in
      // the offer is the most the client will use anyway.
      const ownClientBits = typeof options.clientMaxWindowBits === 'number' ? options.clientMaxWindowBits : null;
      if (o.clientMaxWindowBits !== null) {
        const offered = o.clientMaxWindowBits === true ? 15 : o.clientMaxWindowBits;
        if (ownClientBits !== null || o.clientMaxWindowBits !== true) r.clientMaxWindowBits = Math.min(offered, ownClientBits ?? 15);
      }
      const serverBits = r.serverMaxWindowBits ?? 15;
      const clientBits = typeof r.clientMaxWindowBits === 'number' ? r.clientMaxWindowBits : 15;
      const settings: TracedDeflateSettings = {
        serverNoContextTakeover: r.serverNoContextTakeover, clientNoContextTakeover: r.clientNoContextTakeover,
        serverMaxWindowBits: serverBits, clientMaxWindowBits: clientBits,
        zlibWindowBits: { compress: zlibWindowBits(serverBits), decompress: zlibWindowBits(clientBits) },
      };
      const response = buildElement(r);
      const notes: string[] = [];
      if (ownClientBits !== null && o.clientMaxWindowBits === null) notes.push(`the client did not offer client_max_window_bits, so it cannot be limited to ${ownClientBits} (§7.1.2.2) and may use 32,768 bytes`);
      const agreed = describeAgreed(r, settings);
      return {
        ok: true, rfcSection: 'RFC 7692 §7.1', response, agreed,
        reason: `Accepted${notes.length ? `; ${notes.join('; ')}` : ''}.`,
        create: () => new PerMessageDeflate({ role: 'server', settings, options, agreed }),
      };
    },
  };
}

/** A server with deflate turned off: every offer is declined, saying so (rather than "not implemented"). */
export function disabledServerDeflateNegotiator(): ServerExtensionNegotiator {
  return {
    name: PERMESSAGE_DEFLATE,
    rsv: RSV,
    accept: () => ({ ok: false, reason: 'Declined: permessage-deflate is turned off on this server (--no-deflate, deflate: false).', rfcSection: 'RFC 7692 §5' }),
  };
}

/** The client's offers for one set of options (in the order a list gives them). */
function offerParams(options: DeflateOptions): Params {
  const cmwb = options.clientMaxWindowBits;
  return {
    serverNoContextTakeover: options.serverNoContextTakeover === true,
    clientNoContextTakeover: options.clientNoContextTakeover === true,
    serverMaxWindowBits: typeof options.serverMaxWindowBits === 'number' ? options.serverMaxWindowBits : null,
    // Like browsers and ws: by default say that we support client_max_window_bits, without a value.
    clientMaxWindowBits: cmwb === undefined || cmwb === true ? true : cmwb === false ? null : cmwb,
  };
}

/**
 * Checks a response against one offer (RFC 7692 §7.1, parameter by parameter). Returns the
 * resolved settings or why the response does not fit that offer.
 */
function fitResponse(offer: Params, r: Params): { ok: true; settings: TracedDeflateSettings } | { ok: false; reason: string; rfcSection: string } {
  // §7.1.1.1: a server accepts server_no_context_takeover "by including" it in the response.
  if (offer.serverNoContextTakeover && !r.serverNoContextTakeover) {
    return { ok: false, reason: 'The offer asked for server_no_context_takeover and the response does not include it.', rfcSection: 'RFC 7692 §7.1.1.1' };
  }
  // §7.1.2.1: accepted "with the same or smaller value as the offer".
  if (offer.serverMaxWindowBits !== null) {
    if (r.serverMaxWindowBits === null) return { ok: false, reason: `The offer asked for server_max_window_bits=${offer.serverMaxWindowBits} and the response does not include it.`, rfcSection: 'RFC 7692 §7.1.2.1' };
    if (r.serverMaxWindowBits > offer.serverMaxWindowBits) return { ok: false, reason: `The response's server_max_window_bits=${r.serverMaxWindowBits} is larger than the ${offer.serverMaxWindowBits} offered.`, rfcSection: 'RFC 7692 §7.1.2.1' };
  }
  // §7.1.2.2: "If a received extension negotiation offer doesn't have the "client_max_window_bits"
  // extension parameter, the corresponding extension negotiation response to the offer MUST NOT
  // include the "client_max_window_bits" extension parameter." With a value, at most that value.
  if (typeof r.clientMaxWindowBits === 'number') {
    if (offer.clientMaxWindowBits === null) return { ok: false, reason: 'The response has client_max_window_bits, which the offer did not include.', rfcSection: 'RFC 7692 §7.1.2.2' };
    if (typeof offer.clientMaxWindowBits === 'number' && r.clientMaxWindowBits > offer.clientMaxWindowBits) {
      return { ok: false, reason: `The response's client_max_window_bits=${r.clientMaxWindowBits} is larger than the ${offer.clientMaxWindowBits} offered.`, rfcSection: 'RFC 7692 §7.1.2.2' };
    }
  }
  const serverBits = r.serverMaxWindowBits ?? 15;
  // Our own offer's value binds us even if the response leaves it out (§7.1.2.2: "the client is
  // not going to use an LZ77 sliding window size greater than the size specified").
  const clientBits = typeof r.clientMaxWindowBits === 'number' ? r.clientMaxWindowBits : typeof offer.clientMaxWindowBits === 'number' ? offer.clientMaxWindowBits : 15;
  return {
    ok: true,
    settings: {
      serverNoContextTakeover: r.serverNoContextTakeover,
      // §7.1.1.2: our own client_no_context_takeover is a promise we keep whatever the answer.
      clientNoContextTakeover: r.clientNoContextTakeover || offer.clientNoContextTakeover,
      serverMaxWindowBits: serverBits, clientMaxWindowBits: clientBits,
      zlibWindowBits: { compress: zlibWindowBits(clientBits), decompress: zlibWindowBits(serverBits) },
    },
  };
}

/** The client's side: one offer per options object, in order of preference. */
export function clientDeflateNegotiator(setting: DeflateOptions | readonly DeflateOptions[] = {}): ClientExtensionNegotiator {
  const list: readonly DeflateOptions[] = Array.isArray(setting) ? setting : [setting as DeflateOptions];
  if (list.length === 0) throw new RangeError('deflate: give at least one set of options, or false to turn it off.');
  list.forEach(checkDeflateOptions);
  return {
    name: PERMESSAGE_DEFLATE,
    rsv: RSV,
    offers: () => list.map((o) => buildElement(offerParams(o))),
    confirm(responseElement: ExtensionElement, offered: readonly ExtensionElement[]): NegotiationVerdict {
      const read = readParams(responseElement.params, 'response');
      if (!read.ok) return { ok: false, reason: read.reason, rfcSection: read.rfcSection };
      let firstMiss: { reason: string; rfcSection: string } | null = null;
      for (let i = 0; i < offered.length; i++) {
        // The offers actually sent (a user header may have replaced ours): read them back.
        const sent = readParams(offered[i]!.params, 'offer');
        if (!sent.ok) continue;
        const fit = fitResponse(sent.params, read.params);
        if (!fit.ok) {
          firstMiss ??= fit;
          continue;
        }
        const options = list[Math.min(i, list.length - 1)] ?? {};
        const settings = fit.settings;
        const agreed = describeAgreed(read.params, settings);
        return {
          ok: true, offerIndex: i, rfcSection: 'RFC 7692 §7.1',
          reason: offered.length > 1 ? `The response fits offer ${i + 1} of ${offered.length}.` : 'The response fits the offer.',
          response: responseElement, agreed,
          create: () => new PerMessageDeflate({ role: 'client', settings, options, agreed }),
        };
      }
      const why = firstMiss ?? { reason: 'None of the offers sent could be read back.', rfcSection: 'RFC 7692 §7' };
      return { ok: false, reason: `The server's permessage-deflate response fits no offer: ${why.reason}`, rfcSection: why.rfcSection };
    },
  };
}

// ---------------------------------------------------------------- data

/** What an outgoing message's compression began with: the window it carried, why it was emptied out of turn. */
interface OutgoingStart {
  carried: number;
  restartReason: string | null;
}

/** A message compressed by prepareMessage(), waiting for its encodeMessage() call. */
interface PreparedMessage extends OutgoingStart {
  opcode: number;
  lengths: number[];
  payloads: Uint8Array[];
}

/** The agreed extension at work on one connection. */
export class PerMessageDeflate implements Extension {
  readonly name = PERMESSAGE_DEFLATE;
  readonly rsv = RSV;
  readonly agreed: TracedAgreedExtension;
  readonly incomingTail = 'appended' as const;
  readonly settings: TracedDeflateSettings;
  private readonly role: 'server' | 'client';
  private readonly options: DeflateOptions;
  /** Our direction: the window bits and whether the window is emptied before each message. */
  private readonly outBits: number;
  private readonly outNoTakeover: boolean;
  private readonly inBits: number;
  private readonly inNoTakeover: boolean;
  private deflater: RawDeflateStream | null = null;
  private inflater: RawDeflateStream | null = null;
  /** Compressed messages each window has seen since it was last emptied. */
  private outWindowMessages = 0;
  private inWindowMessages = 0;
  /** Why our window was last emptied out of turn (restartOutgoingWindow), for the next message's trace. */
  private outRestartReason: string | null = null;
  // The incoming message being inflated.
  private inMessageWindow = 0;
  private inMessageReset = false;
  private inMessageChunks: Uint8Array[] = [];
  private inStreams = 0;
  private inBfinal = false;
  private closed = false;
  // An outgoing message compressed off the event loop (prepareMessage), until encodeMessage takes it.
  private preparing = false;
  private prepared: PreparedMessage | null = null;
  /** restartOutgoingWindow() came while a message was being compressed: its result is thrown away. */
  private restartWhilePreparing: string | null = null;

  constructor(local: Local) {
    this.role = local.role;
    this.settings = local.settings;
    this.options = local.options;
    const s = local.settings;
    const server = local.role === 'server';
    this.outBits = server ? s.serverMaxWindowBits : s.clientMaxWindowBits;
    this.inBits = server ? s.clientMaxWindowBits : s.serverMaxWindowBits;
    this.outNoTakeover = server ? s.serverNoContextTakeover : s.clientNoContextTakeover;
    this.inNoTakeover = server ? s.clientNoContextTakeover : s.serverNoContextTakeover;
    this.agreed = local.agreed;
  }

  private compressor(): RawDeflateStream {
    this.deflater ??= new RawDeflateStream('deflate', {
      windowBits: zlibWindowBits(this.outBits),
      ...(this.options.level !== undefined ? { level: this.options.level } : {}),
      ...(this.options.memLevel !== undefined ? { memLevel: this.options.memLevel } : {}),
    });
    return this.deflater;
  }

  private decompressor(): RawDeflateStream {
    this.inflater ??= new RawDeflateStream('inflate', { windowBits: zlibWindowBits(this.inBits) });
    return this.inflater;
  }

  // ---- outgoing (RFC 7692 §6.1, §7.2.1)

  encodeMessage(opcode: number, pieces: readonly Uint8Array[], trace: boolean): EncodedMessage | null {
    if (opcode !== Opcode.Text && opcode !== Opcode.Binary) return null; // §6: data messages only
    const prepared = this.takePrepared(opcode, pieces);
    if (prepared) return this.finishOutgoing(pieces, prepared.payloads, prepared, trace);
    if (!this.worthCompressing(pieces)) return null;
    const begun = this.beginOutgoing();
    // §7.2.1 step 1: "Compress all the octets of the payload of the message using DEFLATE". Each
    // piece is flushed (Z_SYNC_FLUSH), so every frame's payload inflates on its own, given the
    // frames before it: the trace can show each frame's plain bytes.
    const deflater = this.compressor();
    const payloads = pieces.map((piece) => {
      const out = deflater.process(piece, Z_SYNC_FLUSH);
      return concatBytes(out.chunks, out.length);
    });
    return this.finishOutgoing(pieces, payloads, begun, trace);
  }

  /**
   * The same compression as encodeMessage (byte for byte: one zlib stream serves both), done in
   * libuv's thread pool (RawDeflateStream.compressAsync); encodeMessage then only strips the tail.
   * A message under the threshold is left to encodeMessage (null).
   */
  prepareMessage(opcode: number, pieces: readonly Uint8Array[]): Promise<void> | null {
    if (opcode !== Opcode.Text && opcode !== Opcode.Binary) return null;
    if (this.closed || !this.worthCompressing(pieces)) return null;
    if (this.preparing || this.prepared) throw new Error('permessage-deflate: a message is already prepared; send it before preparing another.');
    const begun = this.beginOutgoing();
    this.preparing = true;
    return this.compressor().compressAsync(pieces).then((payloads) => {
      this.preparing = false;
      const restart = this.restartWhilePreparing;
      this.restartWhilePreparing = null;
      if (!payloads || this.closed) return;
      if (restart !== null) {
        // A frame compressed elsewhere went out while this one was compressed against the old
        // window: throw it away; encodeMessage compresses it again from an empty window.
        this.startWindowOver(restart);
        return;
      }
      this.prepared = { opcode, lengths: pieces.map((p) => p.length), payloads, ...begun };
    });
  }

  private worthCompressing(pieces: readonly Uint8Array[]): boolean {
    const threshold = this.options.threshold ?? 0;
    if (threshold === 0) return true;
    let total = 0;
    for (const p of pieces) total += p.length;
    return total >= threshold;
  }

  /** The prepared result, if it is for this message; one prepared for another is dropped (and our window with it). */
  private takePrepared(opcode: number, pieces: readonly Uint8Array[]): PreparedMessage | null {
    const prepared = this.prepared;
    if (!prepared) return null;
    this.prepared = null;
    if (prepared.opcode === opcode && prepared.lengths.length === pieces.length && prepared.lengths.every((n, i) => n === pieces[i]!.length)) return prepared;
    // Its bytes are in our window but will never reach the peer's: start over (always safe, §7.2.1).
    this.startWindowOver('A message compressed ahead of time was not the one sent, so our window starts over (RFC 7692 §7.2.1).');
    return null;
  }

  /** §7.1.1: with no context takeover, each message starts from an empty window. Counts the message in. */
  private beginOutgoing(): OutgoingStart {
    const deflater = this.compressor();
    if (this.outNoTakeover && this.outWindowMessages > 0) deflater.reset();
    if (this.outNoTakeover) this.outWindowMessages = 0;
    const carried = this.outWindowMessages;
    const restartReason = this.outRestartReason;
    this.outRestartReason = null;
    this.outWindowMessages++;
    return { carried, restartReason };
  }

  private finishOutgoing(pieces: readonly Uint8Array[], payloads: Uint8Array[], begun: OutgoingStart, trace: boolean): EncodedMessage {
    // §7.2.1 step 2: "If the resulting data does not end with an empty DEFLATE block with no
    // compression (the "BTYPE" bits are set to 00), append an empty DEFLATE block with no
    // compression to the tail end." Step 3: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from
    // the tail end." (deflate-tail.ts)
    stripDeflateTail(payloads);
    const encoded: EncodedMessage = { payloads, rsv: RSV };
    if (trace) {
      const { carried, restartReason } = begun;
      const total = pieces.reduce((n, p) => n + p.length, 0);
      const compressedSize = payloads.reduce((n, p) => n + p.length, 0);
      encoded.frames = pieces.map((piece, i) => ({ first: i === 0, inflated: piece, inflatedLength: piece.length, tail: i === pieces.length - 1 ? 'stripped' : null }));
      encoded.message = {
        extension: PERMESSAGE_DEFLATE, compressed: concatBytes(payloads, compressedSize), compressedSize,
        ratio: compressedSize === 0 ? null : total / compressedSize, tail: 'stripped',
        contextTakeover: carried > 0, windowMessages: carried,
        windowReason: carried === 0 && restartReason ? restartReason : this.windowReason('out', carried),
        windowBits: this.outBits,
      };
    }
    return encoded;
  }

  private startWindowOver(reason: string): void {
    this.deflater?.reset();
    this.outWindowMessages = 0;
    this.outRestartReason = reason;
  }

  /**
   * Empties our compressor's window out of turn: a frame compressed elsewhere (the crafter's
   * one-off compressor) went into the peer's window but not into ours, so from here our
   * back-references would point at the wrong bytes there. An empty window refers to nothing
   * earlier, which is always safe for the peer (RFC 7692 §7.2.1: a sender may always compress
   * without context). The next message's trace says why, in `reason`.
   */
  restartOutgoingWindow(reason: string): void {
    // A message being compressed off the event loop has not gone out: it is compressed again
    // from the empty window once its turn comes (prepareMessage); one prepared is dropped.
    if (this.preparing) {
      this.restartWhilePreparing = reason;
      return;
    }
    this.prepared = null;
    if (this.outWindowMessages === 0) return;
    this.startWindowOver(reason);
  }

  private windowReason(direction: 'in' | 'out', carried: number): string {
    const sender = direction === 'out' ? this.role : this.role === 'server' ? 'client' : 'server';
    const param = `${sender}_no_context_takeover`;
    const section = sender === 'server' ? 'RFC 7692 §7.1.1.1' : 'RFC 7692 §7.1.1.2';
    if (direction === 'out' ? this.outNoTakeover : this.inNoTakeover) {
      return `${param} was agreed: the ${sender}'s window is emptied before every message, so this one refers to nothing earlier (${section}).`;
    }
    if (carried === 0) return `The first compressed message from the ${sender}: the window starts empty (${section}).`;
    return `Context takeover: the window still holds the ${carried} earlier compressed message${carried === 1 ? '' : 's'} from the ${sender}, which this one may refer back to (RFC 7692 §7.2.1, §7.2.2).`;
  }

  // ---- incoming (RFC 7692 §6.2, §7.2.2)

  beginMessage(rsv: RsvBits): boolean {
    if (!rsv.rsv1) return false; // §6: RSV1 clear on the first frame = an uncompressed message
    // §7.2.2: "If the "agreed parameters" contain the "server_no_context_takeover" extension
    // parameter, the client MAY decompress each new message with an empty LZ77 sliding window.
    // Otherwise, the client MUST decompress each new message using the LZ77 sliding window used to
    // process the last compressed message." (And the same for the server with client_…). We do
    // empty it: a peer that refers back anyway then fails with 1007 instead of passing unseen.
    this.inMessageReset = this.inNoTakeover && this.inWindowMessages > 0;
    if (this.inMessageReset) this.decompressor().reset();
    if (this.inNoTakeover) this.inWindowMessages = 0;
    this.inMessageWindow = this.inWindowMessages;
    this.inMessageChunks = [];
    this.inStreams = 1;
    this.inBfinal = false;
    return true;
  }

  decodeChunk(chunk: Uint8Array, maxOutput: number): DecodedChunk {
    return this.inflate(chunk, maxOutput);
  }

  endFrame(fin: boolean, maxOutput: number): DecodedChunk {
    if (!fin) return { chunks: [], length: 0 };
    // §7.2.2 step 1: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message."
    const out = this.inflate(DEFLATE_TAIL, maxOutput);
    this.inWindowMessages++;
    this.inMessageChunks = [];
    return out;
  }

  private inflate(input: Uint8Array, maxOutput: number): DecodedChunk {
    const chunks: Uint8Array[] = [];
    let length = 0;
    let data = input;
    for (;;) {
      let result;
      try {
        result = this.decompressor().process(data, Z_SYNC_FLUSH, maxOutput - length);
      } catch (error) {
        if (!(error instanceof DeflateDataError)) throw error;
        this.inflater = null;
        throw new ProtocolViolation('WS_ERR_INFLATE_FAILED', `The compressed message is not valid DEFLATE data: zlib says "${error.message}".`);
      }
      for (const c of result.chunks) chunks.push(c);
      length += result.length;
      if (result.overflow) {
        throw new ProtocolViolation('WS_ERR_INFLATED_TOO_BIG', `The compressed message inflates past the message limit (${maxOutput} more bytes were allowed); stopped inflating there.`);
      }
      if (!result.ended || result.inputLeft === 0) break;
      // The sender ended its DEFLATE stream with a BFINAL block and more data follows (§7.2.3.4:
      // an empty stored block, at least the tail we appended). zlib cannot go on after a final
      // block, so a new stream takes over, seeded with this message's last window of plain bytes.
      this.inBfinal = true;
      if (++this.inStreams > MAX_STREAMS_PER_MESSAGE) {
        throw new ProtocolViolation('WS_ERR_INFLATE_FAILED', `The compressed message ends its DEFLATE stream (BFINAL) more than ${MAX_STREAMS_PER_MESSAGE} times.`);
      }
      this.restartInflater([...this.inMessageChunks, ...chunks]);
      data = data.subarray(data.length - result.inputLeft);
    }
    for (const c of chunks) this.inMessageChunks.push(c);
    return { chunks, length };
  }

  /** A fresh decompressor whose window is the last bytes inflated in this message. */
  private restartInflater(recent: readonly Uint8Array[]): void {
    this.inflater?.close();
    const size = 2 ** zlibWindowBits(this.inBits);
    const parts: Uint8Array[] = [];
    let have = 0;
    for (let i = recent.length - 1; i >= 0 && have < size; i--) {
      const c = recent[i]!;
      const take = Math.min(c.length, size - have);
      parts.unshift(c.subarray(c.length - take));
      have += take;
    }
    this.inflater = new RawDeflateStream('inflate', { windowBits: zlibWindowBits(this.inBits), ...(have > 0 ? { dictionary: concatBytes(parts, have) } : {}) });
  }

  describeIncoming(compressed: Uint8Array, compressedSize: number, size: number): TracedMessageCompression {
    const carried = this.inMessageWindow;
    return {
      extension: PERMESSAGE_DEFLATE, compressed, compressedSize,
      ratio: compressedSize === 0 ? null : size / compressedSize, tail: 'appended',
      contextTakeover: carried > 0, windowMessages: carried,
      windowReason: this.windowReason('in', carried),
      windowBits: this.inBits,
      ...(this.inBfinal ? { bfinal: true } : {}),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.deflater?.close();
    this.inflater?.close();
    this.deflater = null;
    this.inflater = null;
  }
}

