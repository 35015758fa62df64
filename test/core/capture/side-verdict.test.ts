/** Each side's verdict from a trace (src/core/capture/side-verdict.ts). */

import { describe, expect, it } from 'vitest';
import { SideVerdict } from '../../../src/core/capture/side-verdict.ts';
import type { TraceEvent } from '../../../src/core/trace.ts';

const stamp = (body: object, seq: number) => ({ ...body, seq, time: seq, connectionId: 'c' }) as TraceEvent;
const frame = (direction: 'in' | 'out', bytes: number) => ({ type: 'frame', direction, frame: { raw: new Uint8Array(bytes) } });
const violation = (direction: 'in' | 'out', code: string, section: string) => ({ type: 'violation', direction, violation: { code, rfcSection: section, message: `${code} happened`, closeCode: 1002, rule: '' } });

describe('SideVerdict', () => {
  it('counts frames and messages per side, groups violations by rule with their section, and tells how it ended', () => {
    const v = new SideVerdict();
    [frame('out', 10), { type: 'message', direction: 'out' }, frame('out', 5), violation('out', 'WS_ERR_RESERVED_BITS', '§5.2'), violation('out', 'WS_ERR_RESERVED_BITS', '§5.2'),
      frame('in', 3), { type: 'connection-closed', wasClean: false, code: 1006, reason: '', detail: 'no Close frame was sent' }]
      .forEach((b, i) => v.add(stamp(b, i + 1)));
    expect(v.lines()).toEqual([
      'client: 2 frames, 1 message; 2 violations:',
      '  2 × WS_ERR_RESERVED_BITS (§5.2): WS_ERR_RESERVED_BITS happened',
      'server: 1 frame, 0 messages; no rule broken',
      'end: no Close frame was sent',
    ]);
  });

  it('a failed handshake check is named with its section; a side that sent nothing has nothing to judge', () => {
    const v = new SideVerdict();
    v.add(stamp({ type: 'handshake', side: 'client', ok: true, status: 101, checks: [{ rule: 'accept', label: 'Sec-WebSocket-Accept', ok: false, detail: 'does not match', rfcSection: '§4.1' }, { rule: 'origin', label: 'Origin', ok: false, detail: 'none', rfcSection: '§10.2', informational: true }], accept: null, subprotocol: null }, 1));
    expect(v.lines()).toEqual([
      'client: 0 frames, 0 messages; no rule broken (nothing to judge)',
      'server: 0 frames, 0 messages; no rule broken (nothing to judge)',
      'handshake: Sec-WebSocket-Accept: does not match (§4.1)',
    ]);
  });
});
