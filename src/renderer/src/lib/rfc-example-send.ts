/**
 * What the RFC examples gallery's Send crafts for an example (components/RfcExamples.tsx): one
 * frame per example frame, carrying its unmasked payload, masked only when our side is the client
 * (RFC 6455 §5.1: a fresh key, not the RFC's). An RFC 7692 example keeps its DEFLATE bytes and
 * RSV1 on the message's first frame; the service then empties our compressor's window, which
 * never saw those bytes (inspector-service craft).
 */
import { frameAnatomy } from '../../../core/fields.ts';
import { rfcFrameBytes, type RfcExample } from '../../../core/rfc-examples.ts';
import type { Role } from '../../../core/trace.ts';
import type { FrameFields } from '../../../shared/inspector-api.ts';
import { bytesToHex } from './frame-form.ts';

export function rfcExampleSendFrames(example: RfcExample, ourRole: Role): FrameFields[] {
  return example.frames.map((frame) => ({
    fin: frame.fin, rsv1: example.deflate && frame.rsv1, rsv2: false, rsv3: false, opcode: frame.opcode,
    masked: ourRole === 'client', maskKeyHex: '', payloadHex: bytesToHex(frameAnatomy(rfcFrameBytes(frame)).payload),
  }));
}
