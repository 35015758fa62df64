/**
 * Byte stepping: feed bytes (a captured or crafted frame, or several) into the very same
 * sans-I/O protocol object a socket drives, one byte or N bytes at a time, and report after
 * each step what the parser is doing and what it still needs.
 */

import { WebSocketProtocol } from './protocol.ts';
import { ByteStepLimits, type ByteStepOptions, type ByteStepSnapshot } from './byte-step-types.ts';
import { defaultDeflateAgreement } from './extensions/default-agreement.ts';
import type { Extension } from './extensions/extension.ts';
import type { Role, TraceBody, TracedFrame, TracedViolation } from './trace.ts';

export { ByteStepLimits, maxByteStepHexChars, type ByteStepOptions, type ByteStepSnapshot } from './byte-step-types.ts';

export class ByteStepper {
  private protocol!: WebSocketProtocol;
  private fed = 0;
  /** The newest frames only (ByteStepLimits.framesShown), and how many in all. */
  private frames: TracedFrame[] = [];
  private framesTotal = 0;
  private violation: TracedViolation | null = null;
  /** The newest log lines only (ByteStepLimits.logShown), and how many in all. */
  private log: string[] = [];
  private logTotal = 0;
  private responses = 0;
  private frameStart = 0;
  /** permessage-deflate in force (options.deflate), as if negotiated. */
  private extension: Extension | null = null;

  /**
   * @param bytes what to feed (at most ByteStepLimits.maxInput)
   * @param receiverRole the role of the endpoint receiving them: "server" expects masked frames
   * @param options deflate: permessage-deflate agreed with its default parameters (RSV1 = compressed)
   */
  constructor(readonly bytes: Uint8Array, readonly receiverRole: Role, readonly options: ByteStepOptions = {}) {
    if (bytes.length > ByteStepLimits.maxInput) {
      throw new RangeError(`At most ${ByteStepLimits.maxInput} bytes (1 MiB) can be stepped through; these are ${bytes.length}. Step a part of them, a frame at a time.`);
    }
    this.reset();
  }

  reset(): void {
    this.fed = 0;
    this.frames = [];
    this.framesTotal = 0;
    this.violation = null;
    this.log = [];
    this.logTotal = 0;
    this.responses = 0;
    this.frameStart = 0;
    // A fresh agreement each time: starting over means an empty window too.
    this.extension?.close();
    this.extension = this.options.deflate ? defaultDeflateAgreement(this.receiverRole) : null;
    this.protocol = new WebSocketProtocol({
      role: this.receiverRole, startOpen: true, traceBytes: false,
      ...(this.extension ? { startOpenExtension: this.extension } : {}),
      trace: (body: TraceBody) => this.record(body),
    });
  }

  private record(body: TraceBody): void {
    if (body.type === 'frame' && body.direction === 'in') {
      this.frames.push(body.frame);
      this.framesTotal++;
      if (this.frames.length > ByteStepLimits.framesShown) this.frames.shift();
      this.frameStart = this.fed;
    } else if (body.type === 'frame' && body.direction === 'out') {
      this.responses++;
      this.addLog(`the protocol answers with a ${body.frame.opcode === 10 ? 'pong' : body.frame.opcode === 8 ? `Close ${body.frame.close?.code ?? ''}` : 'frame'}`);
    } else if (body.type === 'violation') {
      this.violation = body.violation;
      this.addLog(`✗ ${body.violation.code} (${body.violation.rfcSection}): ${body.violation.message}`);
    } else if (body.type === 'message') {
      const inflated = body.compression ? ` (inflated from ${body.compression.compressedSize} compressed byte${body.compression.compressedSize === 1 ? '' : 's'})` : '';
      this.addLog(`message complete: ${body.text !== undefined ? JSON.stringify(body.text.slice(0, 80)) : `${body.size} binary bytes`}${inflated}`);
    } else if (body.type === 'state') {
      this.addLog(`state ${body.from} → ${body.to}`);
    }
  }

  /**
   * Feeds the next n bytes: fewer at the end, and in one call at most ByteStepLimits.maxFeedPerCall
   * bytes and maxFramesPerCall frames (the snapshot's `fed` says how far it got; call again for the rest).
   */
  feed(n: number): ByteStepSnapshot {
    const target = this.fed + Math.max(0, Math.min(n, ByteStepLimits.maxFeedPerCall, this.bytes.length - this.fed));
    this.feedTo(target, ByteStepLimits.maxFramesPerCall);
    // Events first: a Close reply held back for a message the application had not seen (§5.5.1)
    // is then due, and goes out in this step (there is no application here to answer first).
    this.protocol.events();
    this.protocol.dataToSend();
    return this.snapshot();
  }

  /**
   * Feeds up to `target` with every step exact: a frame's header byte by byte, and its payload
   * but the last byte in one piece (nothing can complete before that last byte, so frameStart and
   * every log line land where they would one byte at a time). Only a check inside a payload can
   * fire early (UTF-8, §8.1): then the session is replayed to before that piece and the piece
   * goes again byte by byte, so the violation shows at the byte that proves it. After failing,
   * the rest is discarded (§7.1.7) and goes in one piece.
   */
  private feedTo(target: number, frameBudget = Number.POSITIVE_INFINITY): void {
    let exactUntil = 0;
    const framesBefore = this.framesTotal;
    while (this.fed < target && this.framesTotal - framesBefore < frameBudget) {
      const boundary = this.violation ? null : this.protocol.bytesUntilFrameBoundary();
      const piece = this.violation ? target - this.fed
        : this.fed >= exactUntil && boundary !== null && boundary > 1 ? Math.min(boundary - 1, target - this.fed)
        : 1;
      const from = this.fed;
      const clean = this.violation === null;
      this.push(piece);
      if (piece > 1 && clean && this.violation !== null) {
        this.replayTo(from);
        exactUntil = from + piece;
      }
    }
  }

  private push(count: number): void {
    this.fed += count;
    this.protocol.receiveData(this.bytes.subarray(this.fed - count, this.fed));
  }

  /** Starts over and feeds up to `offset` again (deterministic: the same bytes, the same events). */
  private replayTo(offset: number): void {
    this.reset();
    this.feedTo(offset);
  }

  snapshot(): ByteStepSnapshot {
    const partial = this.protocol.partialFrameBytes();
    const cut = ByteStepLimits.bytesShown;
    const inflated = this.protocol.inflatedSoFar();
    return {
      deflate: this.options.deflate === true,
      inflating: inflated ? { bytes: inflated.length > cut ? inflated.slice(0, cut) : inflated, length: inflated.length } : null,
      fed: this.fed, total: this.bytes.length,
      parserState: this.protocol.parserState, description: this.protocol.describeParser(),
      frameStart: this.frameStart, frameBytes: partial.length > cut ? partial.slice(0, cut) : partial, frameBytesLength: partial.length,
      frames: this.frames.map(cutForDisplay), framesTotal: this.framesTotal,
      violation: this.violation, state: this.protocol.state,
      responses: this.responses, log: [...this.log], logTotal: this.logTotal,
    };
  }

  private addLog(line: string): void {
    this.log.push(line);
    this.logTotal++;
    if (this.log.length > ByteStepLimits.logShown) this.log.shift();
  }
}

/** A frame as a snapshot lists it: at most ByteStepLimits.bytesShown of payload (see `truncated`). */
function cutForDisplay(f: TracedFrame): TracedFrame {
  const cut = ByteStepLimits.bytesShown;
  const deflate = f.deflate && f.deflate.inflated.length > cut ? { ...f.deflate, inflated: f.deflate.inflated.slice(0, cut) } : f.deflate;
  if (f.payload.length <= cut && f.raw.length <= f.headerLength + cut) return deflate === f.deflate ? f : { ...f, deflate: deflate! };
  return {
    ...f,
    raw: f.raw.slice(0, Math.min(f.raw.length, f.headerLength + cut)),
    payload: f.payload.slice(0, cut),
    truncated: { rawLength: f.raw.length, payloadLength: f.payload.length },
    ...(deflate ? { deflate } : {}),
  };
}
