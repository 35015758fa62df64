import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/bytes.ts';
import { WebSocketProtocol } from '../../src/core/protocol.ts';
import { buildClientRequest } from '../../src/core/handshake.ts';
import type { TraceBody, TraceEvent } from '../../src/core/trace.ts';
import { createPrettyPrinter } from '../../src/cli/pretty.ts';

describe('pretty trace', () => {
  it('a 64-bit length with its top bit set prints its real length and masking key (not key=? len=127)', () => {
    const trace: TraceBody[] = [];
    const p = new WebSocketProtocol({ role: 'server', trace: (b) => trace.push(b) });
    p.receiveData(buildClientRequest({ host: 'localhost', path: '/', key: 'dGhlIHNhbXBsZSBub25jZQ==' }).bytes);
    trace.length = 0;
    p.receiveData(fromHex('82 ff 80 00 00 00 00 00 00 05 37 fa 21 3d 01 02'));
    const frame = trace.find((t) => t.type === 'frame' && t.direction === 'in')!;
    const print = createPrettyPrinter({ color: false });
    const text = print({ ...frame, seq: 1, time: 0, connectionId: 'c1' } as TraceEvent)!;
    expect(text).toContain('len=9223372036854775813 (64-bit)');
    expect(text).toContain('masked key=37fa213d');
    expect(text).toContain('masking-key=37 fa 21 3d');
    expect(text).not.toContain('key=?');
    // jsonl carries it too: maskKey is the key, the exact length a string.
    const json = JSON.parse(JSON.stringify(frame, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v)));
    expect(json.frame.maskKey).toEqual([0x37, 0xfa, 0x21, 0x3d]);
    expect(json.frame.payloadLengthExact).toBe('9223372036854775813');
  });

  it('a violation the observe policy let pass says reading went on, not that the connection failed', () => {
    const trace: TraceBody[] = [];
    const p = new WebSocketProtocol({ role: 'server', policy: 'observe', startOpen: true, trace: (b) => trace.push(b) });
    p.receiveData(fromHex('81 02 68 69')); // unmasked from a client (§5.1)
    const violation = trace.find((t) => t.type === 'violation')!;
    const text = createPrettyPrinter({ color: false })({ ...violation, seq: 1, time: 0, connectionId: 'c1' } as TraceEvent)!;
    expect(text).toContain('WS_ERR_UNMASKED_CLIENT_FRAME');
    expect(text).toContain('observed: the RFC fails the connection with 1002 Protocol Error; reading went on');
    expect(text).not.toContain('→ failing the connection');
  });
});
