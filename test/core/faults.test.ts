/**
 * The fault presets as data: which connections each can be fired on (what the handshake agreed
 * decides what RSV1 means), the bytes of the RFC 7692 presets, and the judge's verdicts.
 */
import { inflateRawSync, constants as zlibConstants } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { faultPresets, findPreset, presetApplies, presetsFor, reactionMatches, type Reaction } from '../../src/core/faults.ts';
import { violationTable } from '../../src/core/errors.ts';
import { FrameParser, type Frame } from '../../src/core/frame-codec.ts';
import { firstReaction } from '../../src/core/net/fault-runner.ts';
import type { TraceEvent } from '../../src/core/trace.ts';

const zeroKey = () => Uint8Array.of(0x11, 0x22, 0x33, 0x44);

function framesOf(bytes: Uint8Array[]): Frame[] {
  const parser = new FrameParser({ keepRaw: true });
  const frames: Frame[] = [];
  for (const b of bytes) parser.feed(b, (e) => e.kind === 'frame' && frames.push(e.frame));
  return frames;
}

function built(id: string, role: 'client' | 'server' = 'server'): Frame[] {
  return framesOf(findPreset(id)!.build(role, zeroKey).writes);
}

/** Inflates as RFC 7692 §7.2.2 says: the payloads joined, 00 00 ff ff appended. */
function inflate(payloads: Uint8Array[]): Buffer {
  return inflateRawSync(Buffer.concat([...payloads, Uint8Array.of(0, 0, 0xff, 0xff)]), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: 2 ** 30 });
}

const deflateIds = ['deflate-rsv1-continuation', 'deflate-rsv1-control', 'deflate-corrupt', 'deflate-bomb'];

describe('which connection a preset can be fired on', () => {
  it('rsv1-set only where no extension was agreed; the RFC 7692 presets only where permessage-deflate was', () => {
    const plain = presetsFor({ extension: null }).map((p) => p.id);
    const deflate = presetsFor({ extension: 'permessage-deflate' }).map((p) => p.id);
    expect(plain).toContain('rsv1-set');
    expect(deflate).not.toContain('rsv1-set');
    for (const id of deflateIds) {
      expect(deflate).toContain(id);
      expect(plain).not.toContain(id);
    }
    // RSV2 and RSV3 stay faults under permessage-deflate (it defines RSV1 only, RFC 7692 §6).
    expect(deflate).toEqual(expect.arrayContaining(['rsv2-set', 'rsv3-set', 'invalid-utf8', 'ping-payload']));
    expect(plain.length + deflateIds.length).toBe(faultPresets.length);
    expect(deflate.length + 1).toBe(faultPresets.length);
  });

  it('says why a preset does not apply, and what to do', () => {
    const rsv1 = presetApplies(findPreset('rsv1-set')!, { extension: 'permessage-deflate' });
    expect(rsv1.ok).toBe(false);
    if (!rsv1.ok) expect(rsv1.reason).toMatch(/agreed permessage-deflate.*"compressed" \(RFC 7692 §6\).*--no-deflate/);
    const corrupt = presetApplies(findPreset('deflate-corrupt')!, { extension: null });
    expect(corrupt.ok).toBe(false);
    if (!corrupt.ok) expect(corrupt.reason).toContain('agreed no extension');
    expect(presetApplies(findPreset('deflate-corrupt')!, { extension: 'permessage-deflate' })).toEqual({ ok: true });
  });

  it('groups the compression presets under RFC 7692, each naming its section', () => {
    for (const id of deflateIds) {
      const p = findPreset(id)!;
      expect(p.group).toBe('RFC 7692 Compression (permessage-deflate)');
      expect(p.needs).toBe('permessage-deflate');
    }
    expect(findPreset('deflate-rsv1-continuation')!.rfcSection).toBe('RFC 7692 §6.1');
    expect(findPreset('deflate-rsv1-control')!.rfcSection).toBe('RFC 7692 §6.1');
    // The rule in other words with its section (no copy of RFC 7692 here to quote from), as the violation table says it.
    expect(findPreset('deflate-rsv1-control')!.explanation).toContain(`${violationTable.WS_ERR_RSV1_ON_CONTROL_FRAME.rule} (RFC 7692 §6.1)`);
    expect(findPreset('deflate-rsv1-control')!.explanation).not.toMatch(/[“"]An endpoint MUST/);
  });
});

describe('the RFC 7692 presets put exactly one fault on the wire', () => {
  it('RSV1 on a continuation: two frames that would be a valid compressed "Hello" but for the continuation\'s RSV1', () => {
    const [first, second] = built('deflate-rsv1-continuation');
    expect(first!.header).toMatchObject({ opcode: 1, fin: false, rsv1: true, rsv2: false, rsv3: false });
    expect(second!.header).toMatchObject({ opcode: 0, fin: true, rsv1: true });
    expect(inflate([first!.payload, second!.payload]).toString()).toBe('Hello');
    // Masked when we play the client (§5.3), so masking is not a second fault.
    expect(built('deflate-rsv1-continuation', 'client').every((f) => f.header.masked)).toBe(true);
    expect(built('deflate-rsv1-continuation', 'server').some((f) => f.header.masked)).toBe(false);
  });

  it('RSV1 on a control frame: a well-formed ping with RSV1', () => {
    const [ping] = built('deflate-rsv1-control');
    expect(ping!.header).toMatchObject({ opcode: 9, fin: true, rsv1: true });
    expect(ping!.payload.length).toBeLessThanOrEqual(125);
  });

  it('a corrupt stream: RSV1 set, and the payload cannot be inflated (a reserved block type)', () => {
    const [frame] = built('deflate-corrupt');
    expect(frame!.header).toMatchObject({ opcode: 1, fin: true, rsv1: true });
    expect(frame!.payload[0]! & 0x06).toBe(0x06); // BTYPE 11, "reserved (error)" in RFC 1951 §3.2.3
    expect(() => inflate([frame!.payload])).toThrow(/invalid block type/);
  });

  it('a zip bomb: about 130 KiB on the wire, 128 MiB once inflated (past ws\'s 100 MiB and our 64 MiB)', () => {
    const [frame] = built('deflate-bomb');
    expect(frame!.header).toMatchObject({ opcode: 2, fin: true, rsv1: true });
    expect(frame!.payload.length).toBeLessThan(140 * 1024);
    const plain = inflate([frame!.payload]);
    expect(plain.length).toBe(128 * 1024 * 1024);
    expect(plain.equals(Buffer.alloc(plain.length))).toBe(true);
  });
});

describe('the judge', () => {
  const close = (code: number): Reaction => ({ kind: 'close', code, reason: '' });

  it('accepts 1007 and 1002 for a corrupt stream (RFC 7692 names no code; ws sends 1007, python-websockets 1002)', () => {
    const p = findPreset('deflate-corrupt')!;
    expect(reactionMatches(p, close(1007))).toBe(true);
    expect(reactionMatches(p, close(1002))).toBe(true);
    expect(reactionMatches(p, close(1000))).toBe(false);
    expect(reactionMatches(p, { kind: 'message', text: 'not deflate', size: 11 })).toBe(false);
    expect(reactionMatches(p, { kind: 'drop' })).toBe(true); // failing may drop TCP (§7.1.7)
  });

  it('wants 1009 for a zip bomb, and does not count an echo or our own failure as the peer\'s', () => {
    const p = findPreset('deflate-bomb')!;
    expect(reactionMatches(p, close(1009))).toBe(true);
    expect(reactionMatches(p, close(1002))).toBe(false);
    expect(reactionMatches(p, { kind: 'message', size: 128 * 1024 * 1024 })).toBe(false);
    expect(reactionMatches(p, { kind: 'violation', code: 'WS_ERR_INFLATED_TOO_BIG', message: 'too big', closeCode: 1009 })).toBe(false);
  });

  it('reads our own failure on the peer\'s answer as the reaction, not the Close that follows it', () => {
    const base = { seq: 1, time: 0, connectionId: 'c' };
    const events = [
      { ...base, type: 'violation', direction: 'in', violation: { code: 'WS_ERR_INFLATED_TOO_BIG', closeCode: 1009, message: 'inflates past the limit', rfcSection: '§7.4.1', rule: '' } },
      { ...base, type: 'frame', direction: 'in', frame: { opcode: 8, close: { code: 1009, reason: '' }, payload: new Uint8Array(0) } },
    ] as unknown as TraceEvent[];
    expect(firstReaction(events)).toEqual({ kind: 'violation', code: 'WS_ERR_INFLATED_TOO_BIG', message: 'inflates past the limit', closeCode: 1009 });
    // Under the observe policy a violation is only flagged: the peer's reaction is still to come.
    const observed = [{ ...events[0], observed: true }, events[1]] as unknown as TraceEvent[];
    expect(firstReaction(observed)).toEqual({ kind: 'close', code: 1009, reason: '' });
  });

  it('reads a Pong\'s payload as it came: a leading U+FEFF is kept (it is data, not a byte order mark to drop)', () => {
    const pong = { seq: 1, time: 0, connectionId: 'c', type: 'frame', direction: 'in', frame: { opcode: 10, payload: Uint8Array.of(0xef, 0xbb, 0xbf, 0x68, 0x69) } } as unknown as TraceEvent;
    expect(firstReaction([pong])).toEqual({ kind: 'pong', payload: '\uFEFFhi' });
  });
});

describe('fault wording (issue 15)', () => {
  it('length-shorter-than-payload: 0x6C only when fired from the server; from a client the payload is masked', () => {
    const e = findPreset('length-shorter-than-payload')!.explanation;
    expect(e).toContain('Fired from the server');
    expect(e).toContain('0x6C');
    expect(e).toContain('Fired from a client, the payload is masked');
    // The claim holds: from the server the byte after "Hel" is 0x6C; from a client it is "l" XOR a key byte.
    const server = findPreset('length-shorter-than-payload')!.build('server', zeroKey).writes[0]!;
    expect(server[2 + 3]).toBe(0x6c);
    const client = findPreset('length-shorter-than-payload')!.build('client', zeroKey).writes[0]!;
    expect(client[2 + 4 + 3]).toBe(0x6c ^ 0x44);
  });

  it('§7.1.7 says SHOULD send a Close frame first, the same in the presets, the Faults view and the conformance judge', async () => {
    const { readFileSync } = await import('node:fs');
    for (const file of ['../../src/core/faults.ts', '../../src/renderer/src/components/Faults.tsx', '../../src/core/conformance/execute.ts']) {
      const source = readFileSync(new URL(file, import.meta.url), 'utf8');
      const mentions = source.split('\n').filter((line) => line.includes('§7.1.7'));
      expect(mentions.length, file).toBeGreaterThan(0);
      for (const line of mentions) {
        expect(line, file).toContain('SHOULD');
        expect(line, file).not.toMatch(/"MAY" send|MAY send a Close frame first/);
      }
    }
  });
});
