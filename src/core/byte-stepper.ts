/**
 * Byte stepping: feed bytes (a captured or crafted frame, or several) into the very same
 * sans-I/O protocol object a socket drives, one byte or N bytes at a time, and report after
 * each step what the parser is doing and what it still needs.
 */

import { WebSocketProtocol } from './protocol.ts';
import type { ByteStepSnapshot } from './byte-step-types.ts';
import type { Role, TraceBody, TracedFrame, TracedViolation } from './trace.ts';

export type { ByteStepSnapshot } from './byte-step-types.ts';

export class ByteStepper {
  private protocol!: WebSocketProtocol;
  private fed = 0;
  private frames: TracedFrame[] = [];
  private violation: TracedViolation | null = null;
  private log: string[] = [];
  private responses = 0;
  private frameStart = 0;

  /**
   * @param bytes what to feed
   * @param receiverRole the role of the endpoint receiving them: "server" expects masked frames
   */
  constructor(readonly bytes: Uint8Array, readonly receiverRole: Role) {
    this.reset();
  }

  reset(): void {
    this.fed = 0;
    this.frames = [];
    this.violation = null;
    this.log = [];
    this.responses = 0;
    this.frameStart = 0;
    this.protocol = new WebSocketProtocol({
      role: this.receiverRole, startOpen: true, traceBytes: false,
      trace: (body: TraceBody) => this.record(body),
    });
  }

  private record(body: TraceBody): void {
    if (body.type === 'frame' && body.direction === 'in') {
      this.frames.push(body.frame);
      this.frameStart = this.fed;
    } else if (body.type === 'frame' && body.direction === 'out') {
      this.responses++;
      this.log.push(`the protocol answers with a ${body.frame.opcode === 10 ? 'pong' : body.frame.opcode === 8 ? `Close ${body.frame.close?.code ?? ''}` : 'frame'}`);
    } else if (body.type === 'violation') {
      this.violation = body.violation;
      this.log.push(`✗ ${body.violation.code} (${body.violation.rfcSection}): ${body.violation.message}`);
    } else if (body.type === 'message') {
      this.log.push(`message complete: ${body.text !== undefined ? JSON.stringify(body.text.slice(0, 80)) : `${body.size} binary bytes`}`);
    } else if (body.type === 'state') {
      this.log.push(`state ${body.from} → ${body.to}`);
    }
  }

  /** Feeds the next n bytes (fewer at the end). */
  feed(n: number): ByteStepSnapshot {
    const count = Math.max(0, Math.min(n, this.bytes.length - this.fed));
    // One byte at a time, so frameStart is exact even when a step crosses frames.
    for (let i = 0; i < count; i++) {
      this.fed++;
      this.protocol.receiveData(this.bytes.subarray(this.fed - 1, this.fed));
    }
    // Events first: a Close reply held back for a message the application had not seen (§5.5.1)
    // is then due, and goes out in this step (there is no application here to answer first).
    this.protocol.events();
    this.protocol.dataToSend();
    return this.snapshot();
  }

  snapshot(): ByteStepSnapshot {
    return {
      fed: this.fed, total: this.bytes.length,
      parserState: this.protocol.parserState, description: this.protocol.describeParser(),
      frameStart: this.frameStart, frameBytes: this.protocol.partialFrameBytes(),
      frames: [...this.frames], violation: this.violation, state: this.protocol.state,
      responses: this.responses, log: [...this.log],
    };
  }
}
