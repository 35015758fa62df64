import { describe, expect, it } from 'vitest';
import { violationTable } from '../../src/core/errors.ts';
import { EXPECTATION_RULES, LATE_PONG_MS, legExpectations, violationRule, type ObservedFrame, type ObservedLeg } from '../../src/core/rfc-expectations.ts';
import { encodeFrame } from '../../src/core/frame-codec.ts';
import type { TraceEvent } from '../../src/core/trace.ts';
import { firstSection, rfc, squash } from '../support/rfc-text.ts';
import { eventually, openWs } from './net/helpers.ts';
import { closeAll, startProxy, wsUpstream } from './proxy/proxy-peers.ts';

const leg = (frames: ObservedFrame[], more: Partial<ObservedLeg> = {}): ObservedLeg => ({ id: 'c1', role: 'server', proxied: true, frames, violations: [], ...more });
const ping = (frameId: number, direction: 'in' | 'out', time: number, payloadHex = '6869'): ObservedFrame => ({ frameId, direction, opcode: 9, time, payloadHex });
const pong = (frameId: number, direction: 'in' | 'out', time: number, payloadHex = '6869'): ObservedFrame => ({ frameId, direction, opcode: 10, time, payloadHex });
const close = (frameId: number, direction: 'in' | 'out', time: number, closeCode: number | null = 1000): ObservedFrame => ({ frameId, direction, opcode: 8, time, closeCode });
const text = (frameId: number, direction: 'in' | 'out', time: number): ObservedFrame => ({ frameId, direction, opcode: 1, time });

describe('what RFC 6455 expects: the quotes', () => {
  it.each(Object.entries(EXPECTATION_RULES))('%s: the quote is RFC 6455 text in the section cited, the paraphrase is not in quotation marks', (_id, rule) => {
    expect(rule.quote).not.toBeNull();
    const quote = squash(rule.quote!.text);
    expect(rfc().whole.includes(quote), `not verbatim: "${quote}"`).toBe(true);
    expect(rfc().sections.get(firstSection(rule.quote!.section))?.includes(quote)).toBe(true);
    expect(rule.section).toBe(rule.quote!.section);
    expect(rule.paraphrase).not.toMatch(/^[“"]/);
  });

  it('a violation\'s rule is a quote only when the violation table says it is verbatim', () => {
    const masked = violationTable.WS_ERR_UNMASKED_CLIENT_FRAME;
    expect(violationRule({ code: 'WS_ERR_UNMASKED_CLIENT_FRAME', closeCode: 1002, message: 'unmasked', rfcSection: masked.rfcSection, rule: masked.rule }))
      .toEqual({ section: '§5.1', quote: { section: '§5.1', text: masked.rule }, paraphrase: '' });
    const invalid = violationTable.WS_ERR_INVALID_CLOSE_CODE;
    const r = violationRule({ code: 'WS_ERR_INVALID_CLOSE_CODE', closeCode: 1002, message: 'bad code', rfcSection: invalid.rfcSection, rule: invalid.rule });
    expect(r.quote).toBeNull();
    expect(r.paraphrase).toBe(invalid.rule);
    // A rule text that is not the table's (an old recording) is never shown as the RFC's words.
    expect(violationRule({ code: 'WS_ERR_UNMASKED_CLIENT_FRAME', closeCode: 1002, message: 'x', rfcSection: '§5.1', rule: 'Servers must close.' }).quote).toBeNull();
  });
});

describe('what RFC 6455 expects: each side judged', () => {
  it('a Ping the proxy passed on, answered in time, late, or never', () => {
    const answered = legExpectations(leg([ping(1, 'out', 0), pong(2, 'in', 12)]), 100);
    expect(answered.map((e) => [e.side, e.verdict, e.frameId])).toEqual([['client', 'ok', 2]]);
    expect(answered[0]!.did).toContain('answered Ping #1 with Pong #2 after 12.0 ms');
    expect(answered[0]!.rule).toBe(EXPECTATION_RULES.pong);

    const late = legExpectations(leg([ping(1, 'out', 0), pong(2, 'in', LATE_PONG_MS + 500)]), 5000);
    expect(late.map((e) => e.verdict)).toEqual(['late']);

    // A Pong with other data does not answer it (§5.5.3: identical Application data).
    const never = legExpectations(leg([ping(1, 'out', 0), pong(2, 'in', 5, '00'), close(3, 'in', 50)], { closed: { time: 60, wasClean: false, code: 1006 } }), 100);
    expect(never.find((e) => e.frameId === 1)).toMatchObject({ side: 'client', verdict: 'broke' });
    expect(never.find((e) => e.frameId === 1)!.did).toContain('sent Close #3 instead');

    // Frames missing from what is seen (folded, evicted): nothing judged by its absence.
    expect(legExpectations(leg([ping(1, 'out', 0), close(3, 'in', 50), close(4, 'out', 51)], { gaps: true, closed: { time: 60, wasClean: true, code: 1000 } }), 100).filter((e) => e.verdict !== 'ok')).toEqual([]);
    expect(legExpectations(leg([close(5, 'out', 0)], { gaps: true, closed: { time: 30, wasClean: false, code: 1006 } }), 40)).toEqual([]);

    const waiting = legExpectations(leg([ping(1, 'out', 0)]), 6000);
    expect(waiting.map((e) => e.verdict)).toEqual(['waiting']);
    expect(legExpectations(leg([ping(1, 'out', 0)]), 100)).toEqual([]);
    // Our Close went first: no Pong is owed.
    expect(legExpectations(leg([close(1, 'out', 0), ping(2, 'out', 1)], { closed: { time: 9, wasClean: false, code: 1006 } }), 10).filter((e) => e.rule === EXPECTATION_RULES.pong)).toEqual([]);
  });

  it('a Ping from the peer is answered by the proxy itself (each leg is its own connection)', () => {
    const [e] = legExpectations(leg([ping(1, 'in', 0), pong(2, 'out', 0.2)]), 10);
    expect(e).toMatchObject({ side: 'proxy', verdict: 'ok', frameId: 2 });
    expect(e!.rule).toBe(EXPECTATION_RULES['endpoint-pong']);
    const [direct] = legExpectations(leg([ping(1, 'in', 0), pong(2, 'out', 0.2)], { proxied: false }), 10);
    expect(direct).toMatchObject({ side: 'app' });
  });

  it('a Close echoed, a Close left unanswered, and the proxy\'s own echo', () => {
    const echoed = legExpectations(leg([close(5, 'out', 0, 1001), close(6, 'in', 3, 1001)], { closed: { time: 4, wasClean: true, code: 1001 } }), 10);
    expect(echoed.map((e) => [e.side, e.verdict])).toEqual([['client', 'ok']]);
    expect(echoed[0]!.did).toContain('answered Close #5 with Close #6 (1001)');
    const dropped = legExpectations(leg([close(5, 'out', 0)], { role: 'client', closed: { time: 30, wasClean: false, code: 1006 } }), 40);
    expect(dropped.map((e) => [e.side, e.verdict, e.frameId])).toEqual([['server', 'broke', 5]]);
    expect(dropped[0]!.did).toBe('The server closed TCP without answering Close #5 with its own Close.');
    const ours = legExpectations(leg([close(5, 'in', 0), close(6, 'out', 0.1)]), 1);
    expect(ours.map((e) => [e.side, e.verdict])).toEqual([['proxy', 'ok']]);
  });

  it('a close code that must not be sent, judged once even when our side also flagged it', () => {
    const v = { code: 'WS_ERR_INVALID_CLOSE_CODE' as const, closeCode: 1002, message: 'Close code 1005 is not allowed', rfcSection: '§7.4.1', rule: violationTable.WS_ERR_INVALID_CLOSE_CODE.rule };
    const got = legExpectations(leg([close(3, 'in', 1, 1005)], { violations: [{ time: 1, direction: 'in', frameId: 3, violation: v }] }), 2);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ side: 'client', verdict: 'broke', frameId: 3 });
    expect(got[0]!.rule).toBe(EXPECTATION_RULES['reserved-1005']);
  });

  it('the upstream\'s 1002 names the last frame the proxy sent it; a violation by the client names its rule and the close', () => {
    const upstream = legExpectations(leg([text(1, 'out', 0), text(2, 'out', 1), close(3, 'in', 2, 1002)], { id: 'c1-upstream', role: 'client' }), 3);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]).toMatchObject({ side: 'server', legId: 'c1-upstream', frameId: 3 });
    expect(upstream[0]!.did).toBe('The server closed with 1002 (protocol error): it judged what the proxy sent on this leg, the last being frame #2.');
    expect(upstream[0]!.rule).toBe(EXPECTATION_RULES['close-1002']);

    const spec = violationTable.WS_ERR_UNMASKED_CLIENT_FRAME;
    const unmasked = legExpectations(leg([], { violations: [{ time: 0, direction: 'in', frameId: 1, violation: { code: 'WS_ERR_UNMASKED_CLIENT_FRAME', closeCode: 1002, message: 'The client sent an unmasked frame.', rfcSection: spec.rfcSection, rule: spec.rule } }] }), 1);
    expect(unmasked).toHaveLength(1);
    expect(unmasked[0]!.did).toBe('The client sent an unmasked frame (the proxy closed this leg with 1002).');
    expect(unmasked[0]!.rule.quote?.text).toBe(spec.rule);
  });
});

describe('what RFC 6455 expects: judged on a real conversation through the proxy', () => {
  it('a frame with a reserved opcode injected towards a ws server: its 1002 is judged, naming the injected frame', async () => {
    const upstream = await wsUpstream();
    const proxy = await startProxy({ target: upstream.url });
    try {
      const ws = await openWs(proxy.url);
      await eventually(() => [...proxy.proxy.conversations][0]?.relay != null, 5000, 'the relay');
      const leg = [...proxy.proxy.conversations][0]!.upstream!;
      // §5.2: opcode 0x3 is reserved; the upstream leg is a client, so the frame is masked (§5.3).
      await leg.writeCrafted(encodeFrame({ opcode: 0x3, payload: Buffer.from('?') }, Uint8Array.of(9, 8, 7, 6)));
      await eventually(() => upstream.closes[0] !== undefined || leg.state === 'CLOSED', 5000, 'the server to fail the connection');
      await eventually(() => leg.state === 'CLOSED', 5000, 'the leg closed');
      const events = proxy.of(leg.id);
      const frameEvents = events.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame');
      const crafted = frameEvents.find((e) => e.direction === 'out' && e.frame.opcode === 0x3)!;
      const closed = events.find((e): e is Extract<TraceEvent, { type: 'connection-closed' }> => e.type === 'connection-closed');
      const judged = legExpectations({
        id: leg.id, role: 'client', proxied: true,
        frames: frameEvents.map((e) => ({ frameId: e.frame.frameId, direction: e.direction, opcode: e.frame.opcode, time: e.time, ...(e.frame.close ? { closeCode: e.frame.close.code } : {}) })),
        violations: [], ...(closed ? { closed: { time: closed.time, wasClean: closed.wasClean, code: closed.code } } : {}),
      }, Date.now());
      const e = judged.find((x) => x.rule === EXPECTATION_RULES['close-1002']);
      expect(e, JSON.stringify(judged.map((x) => x.did))).toBeDefined();
      expect(e).toMatchObject({ side: 'server', legId: leg.id });
      expect(e!.did).toBe(`The server closed with 1002 (protocol error): it judged what the proxy sent on this leg, the last being frame #${crafted.frame.frameId}.`);
      ws.terminate();
      await proxy.allFreed();
    } finally {
      await closeAll(proxy, upstream);
    }
  });
});
