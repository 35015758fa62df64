/**
 * The judging logic, against scripted fake peers (no sockets): what passes, what is non-strict,
 * what fails, and why. The fake peer sees our frames decoded and answers with raw bytes, which
 * go through the same PeerObserver as over a real socket.
 */
import { describe, expect, it } from 'vitest';
import { applyMask } from '../../../src/core/bytes.ts';
import { Opcode } from '../../../src/core/constants.ts';
import { encodeClosePayload, encodeFrame, FrameParser, type Frame, type FrameSpec } from '../../../src/core/frame-codec.ts';
import {
  conformanceCases, describeEvent, executeCase, PeerObserver, type ConformanceCase, type PeerEvent, type Step, type Verdict, type Wire,
} from '../../../src/core/conformance/index.ts';

const enc = new TextEncoder();
const utf8 = (s: string) => enc.encode(s);

/** The peer under test, scripted: sees each frame we send, answers through the wire. */
type FakePeer = (frame: Frame, wire: FakeWire) => void;

class FakeWire implements Wire {
  readonly written: Uint8Array[] = [];
  readonly notes: string[] = [];
  ended = false;
  private readonly parser = new FrameParser();
  private readonly observer: PeerObserver;
  private queue: PeerEvent[] = [];
  private waiter: ((e: PeerEvent | null) => void) | null = null;

  /** ourRole 'client': the fake peer is a server (must not mask). */
  constructor(private readonly peer: FakePeer, readonly ourRole: 'client' | 'server' = 'client', private readonly onEnd?: (w: FakeWire) => void) {
    this.observer = new PeerObserver(ourRole === 'client' ? 'server' : 'client');
  }

  write(bytes: Uint8Array): Promise<void> {
    this.written.push(bytes);
    try {
      this.parser.feed(bytes, (e) => {
        if (e.kind === 'frame') this.peer(e.frame, this);
      });
    } catch {
      // framing our parser cannot represent (64-bit length with the top bit set): the peer sees nothing
    }
    return Promise.resolve();
  }

  next(timeoutMs: number): Promise<PeerEvent | null> {
    const e = this.queue.shift();
    if (e) return Promise.resolve(e);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = (ev) => {
        clearTimeout(t);
        resolve(ev);
      };
    });
  }

  end(): void {
    this.ended = true;
    this.onEnd?.(this);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  // ----- the peer's side
  private deliver(events: PeerEvent[]): void {
    for (const e of events) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(e);
      } else this.queue.push(e);
    }
  }

  peerSendRaw(bytes: Uint8Array): void {
    this.deliver(this.observer.feed(bytes));
  }

  /** A frame from the peer, masked as its role requires unless told otherwise. */
  peerSend(spec: FrameSpec): void {
    const mask = this.ourRole === 'server' ? new Uint8Array([1, 2, 3, 4]) : null;
    this.peerSendRaw(encodeFrame({ maskKey: mask, ...spec }));
  }

  peerClose(code: number | null, reason = ''): void {
    this.peerSend({ opcode: Opcode.Close, payload: encodeClosePayload(code, reason) });
  }

  peerEof(): void {
    this.deliver(this.observer.eof('FIN'));
  }
}

/** A well-behaved echo peer for the simple cases used here (no fragmentation handling needed). */
function echoPeer(overrides: Partial<Record<'message' | 'ping' | 'close' | 'violation', FakePeer>> = {}): FakePeer {
  let closed = false;
  return (frame, wire) => {
    if (closed) return;
    const h = frame.header;
    const broken = h.rsv1 || h.rsv2 || h.rsv3 || ![0, 1, 2, 8, 9, 10].includes(h.opcode) || (h.opcode >= 8 && h.payloadLength > 125);
    if (broken) {
      if (overrides.violation) return overrides.violation(frame, wire);
      closed = true;
      wire.peerClose(1002, 'protocol error');
      wire.peerEof();
      return;
    }
    if (h.opcode === Opcode.Ping) return overrides.ping ? overrides.ping(frame, wire) : wire.peerSend({ opcode: Opcode.Pong, payload: frame.payload });
    if (h.opcode === Opcode.Pong) return;
    if (h.opcode === Opcode.Close) {
      if (overrides.close) return overrides.close(frame, wire);
      closed = true;
      wire.peerSend({ opcode: Opcode.Close, payload: frame.payload });
      wire.peerEof();
      return;
    }
    if (overrides.message) return overrides.message(frame, wire);
    wire.peerSend({ opcode: h.opcode, payload: frame.payload });
  };
}

function testCase(steps: Step[], id = '99.1'): ConformanceCase {
  return {
    id, category: 99, categoryName: 'test', description: 'test case', rfcSection: '§5', steps: () => steps, timeoutMs: 5000, peers: ['server', 'client'],
    expectation: { pass: '', nonStrict: '', fail: '' },
  };
}

function byId(id: string): ConformanceCase {
  const c = conformanceCases.find((x) => x.id === id);
  if (!c) throw new Error(`no case ${id}`);
  return c;
}

function run(c: ConformanceCase, wire: FakeWire, stepTimeoutMs = 300): Promise<Verdict> {
  return executeCase(c, wire, { role: wire.ourRole, stepTimeoutMs, closeTimeoutMs: 200, deadline: Date.now() + 5000 });
}

const text = (s: string) => ({ opcode: Opcode.Text, payload: utf8(s) });
const closeStep = (code = 1000): Step[] => [{ kind: 'send', frames: [{ opcode: Opcode.Close, payload: encodeClosePayload(code) }] }, { kind: 'expect-close', code }];

describe('judging valid cases', () => {
  it('passes a peer that echoes and closes properly (both directions)', async () => {
    for (const role of ['client', 'server'] as const) {
      const wire = new FakeWire(echoPeer(), role);
      expect(await run(byId('1.1.2'), wire)).toMatchObject({ outcome: 'pass', reason: '', behavior: 'OK' });
      // we masked as a client and did not as a server
      const first = wire.written.find((b) => (b[0]! & 0x0f) === Opcode.Text)!;
      expect((first[1]! & 0x80) !== 0).toBe(role === 'client');
    }
  });

  it('fails when the echo differs, naming the first differing byte', async () => {
    const wire = new FakeWire(echoPeer({ message: (f, w) => w.peerSend({ opcode: Opcode.Text, payload: utf8('Hellp') }) }));
    const v = await run(testCase([{ kind: 'send', frames: [text('Hello')] }, { kind: 'expect-message', opcode: Opcode.Text, payload: utf8('Hello') }, ...closeStep()]), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/differs: byte 4 is 0x70 instead of 0x6f/);
  });

  it('fails when the echo comes back with the wrong opcode', async () => {
    const wire = new FakeWire(echoPeer({ message: (f, w) => w.peerSend({ opcode: Opcode.Binary, payload: f.payload }) }));
    const v = await run(byId('1.1.2'), wire);
    expect(v).toMatchObject({ outcome: 'fail' });
    expect(v.reason).toMatch(/binary message/);
  });

  it('fails when the peer never answers', async () => {
    const wire = new FakeWire(echoPeer({ message: () => {} }));
    const v = await run(byId('1.1.2'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/nothing came within 30\d ms/);
  });

  it('fails a server whose echo is masked (§5.1)', async () => {
    const wire = new FakeWire(echoPeer({ message: (f, w) => w.peerSendRaw(encodeFrame({ opcode: f.header.opcode, payload: f.payload, maskKey: new Uint8Array([9, 9, 9, 9]) })) }));
    const v = await run(byId('1.1.2'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/masked text frame; a server must not mask/);
  });

  it('fails a client whose echo is not masked (§5.1)', async () => {
    const wire = new FakeWire(echoPeer({ message: (f, w) => w.peerSendRaw(encodeFrame({ opcode: f.header.opcode, payload: f.payload })) }), 'server');
    const v = await run(byId('1.1.2'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/unmasked text frame; a client must mask/);
  });

  it('fails a pong whose payload differs from the ping', async () => {
    const wire = new FakeWire(echoPeer({ ping: (f, w) => w.peerSend({ opcode: Opcode.Pong, payload: utf8('other') }) }));
    const v = await run(byId('2.2'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/pong's payload differs/);
  });

  it('passes (with a note) a peer that answers only the last of 10 pings (§5.5.3 MAY)', async () => {
    let pings = 0;
    const wire = new FakeWire(echoPeer({
      ping: (f, w) => {
        if (++pings === 10) w.peerSend({ opcode: Opcode.Pong, payload: f.payload });
      },
    }));
    const v = await run(byId('2.10'), wire);
    expect(v.outcome).toBe('pass');
    expect(v.reason).toMatch(/answered 1 of 10 pings/);
  });

  it('fails pongs out of order', async () => {
    const held: Uint8Array[] = [];
    const wire = new FakeWire(echoPeer({
      ping: (f, w) => {
        held.push(f.payload);
        if (held.length === 10) for (const p of held.reverse()) w.peerSend({ opcode: Opcode.Pong, payload: p });
      },
    }));
    const v = await run(byId('2.10'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/pongs for 10 pings in order/);
  });

  it('fails a peer that answers an unsolicited pong', async () => {
    const wire = new FakeWire((frame, w) => {
      if (frame.header.opcode === Opcode.Pong) w.peerSend({ opcode: Opcode.Pong, payload: frame.payload });
      else echoPeer()(frame, w);
    });
    const v = await run(byId('2.8'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/expected an echo of the text message .* but the server sent a pong/);
  });
});

describe('judging cases the peer must fail', () => {
  it('passes Close 1002 for a reserved bit', async () => {
    expect(await run(byId('3.1.1'), new FakeWire(echoPeer()))).toMatchObject({ outcome: 'pass', reason: '', behavior: 'OK' });
  });

  it('is non-strict when the peer fails with the wrong close code', async () => {
    const wire = new FakeWire(echoPeer({ violation: (f, w) => { w.peerClose(1000); w.peerEof(); } }));
    const v = await run(byId('3.1.1'), wire);
    expect(v).toMatchObject({ outcome: 'non-strict', reason: 'failed the connection with Close 1000 instead of 1002', behavior: 'NON-STRICT', behaviorClose: 'WRONG CODE', remoteCloseCode: 1000 });
  });

  it('is non-strict when the peer drops TCP without a Close frame', async () => {
    const wire = new FakeWire(echoPeer({ violation: (f, w) => w.peerEof() }));
    const v = await run(byId('4.1.1'), wire);
    expect(v.outcome).toBe('non-strict');
    expect(v.reason).toMatch(/dropped TCP without a Close frame/);
  });

  it('fails a peer that echoes the invalid frame back (reserved bit and all)', async () => {
    const wire = new FakeWire(echoPeer({ violation: (f, w) => w.peerSend({ opcode: f.header.opcode, payload: f.payload, rsv1: f.header.rsv1 }) }));
    const v = await run(byId('3.1.1'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/reserved bit set/);
  });

  it('fails a peer that echoes invalid UTF-8 (its echo is itself invalid)', async () => {
    const wire = new FakeWire(echoPeer()); // this fake peer does not validate UTF-8: it echoes
    const v = await run(byId('6.12.1'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/text message that is not valid UTF-8 .*\(§8.1\)/);
  });

  it('fails a peer that keeps the connection open', async () => {
    const wire = new FakeWire(echoPeer({ violation: () => {} }));
    const v = await run(byId('2.5'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/did nothing within 300 ms/);
  });

  it('fails a peer that answers an oversized ping with a pong', async () => {
    const wire = new FakeWire(echoPeer({ violation: (f, w) => w.peerSend({ opcode: Opcode.Pong, payload: f.payload.subarray(0, 125) }) }));
    const v = await run(byId('2.5'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/but the server sent a pong/);
  });

  it('echoes the peer\'s Close and, as the server, closes TCP first', async () => {
    const wire = new FakeWire(echoPeer(), 'server', (w) => w.peerEof());
    const v = await run(byId('3.1.1'), wire);
    expect(v.outcome).toBe('pass');
    expect(wire.ended).toBe(true);
    const closes = wire.written.filter((b) => (b[0]! & 0x0f) === Opcode.Close);
    expect(closes).toHaveLength(1); // our answer to its Close 1002
    expect([...closes[0]!.subarray(2, 4)]).toEqual([0x03, 0xea]);
  });

  it('judges fail-fast: failing before the rest is sent passes, failing only after it is non-strict', async () => {
    const steps = (): Step[] => [
      { kind: 'send', frames: [{ opcode: Opcode.Text, payload: new Uint8Array([0x61, 0xff, 0x62, 0x63]) }], holdBack: 2 },
      { kind: 'expect-fail', codes: [1007], failFast: { waitMs: 150, then: { kind: 'send-held' } } },
    ];
    // a peer that sees only complete frames, i.e. validates at the end of the frame
    const lazy = new FakeWire((f, w) => {
      w.peerClose(1007);
      w.peerEof();
    });
    const v1 = await run(testCase(steps()), lazy);
    expect(v1.outcome).toBe('non-strict');
    expect(v1.reason).toMatch(/not fail-fast/);
    // a peer that fails on the first bytes (it watches our raw writes)
    let fired = false;
    const eager = new FakeWire(() => {});
    const write = eager.write.bind(eager);
    eager.write = (bytes) => {
      if (!fired && bytes.length > 2) {
        fired = true;
        eager.peerClose(1007);
        eager.peerEof();
      }
      return write(bytes);
    };
    expect(await run(testCase(steps()), eager)).toMatchObject({ outcome: 'pass', reason: '', behavior: 'OK' });
  });
});

describe('judging the closing handshake', () => {
  const code3000 = () => byId('7.7.10'); // Close 3000 "code 3000" (Autobahn's 7.7.10)

  it('passes an exact echo of code and reason', async () => {
    expect(code3000().description).toContain('3000');
    expect(await run(code3000(), new FakeWire(echoPeer()))).toMatchObject({ outcome: 'pass', reason: '', behavior: 'OK' });
  });

  // Judging fix 6: §5.5.1 says an endpoint "typically echos the status code it received"; Autobahn
  // 7.7.X passes the echo or 1000, and 7.3.4 does not compare the reason. Before the fix both were non-strict.
  it('passes the same code with another reason (the reason is not compared, as Autobahn 7.3.4)', async () => {
    const wire = new FakeWire(echoPeer({ close: (f, w) => { w.peerClose(3000, 'bye'); w.peerEof(); } }));
    expect(await run(code3000(), wire)).toMatchObject({ outcome: 'pass', behavior: 'OK', behaviorClose: 'OK', remoteCloseCode: 3000 });
    const other = new FakeWire(echoPeer({ close: (f, w) => { w.peerClose(1000, 'another reason'); w.peerEof(); } }));
    expect(await run(byId('7.3.4'), other)).toMatchObject({ outcome: 'pass', behavior: 'OK' });
  });

  it('passes Close 1000 in answer to another valid code (Autobahn 7.7.X)', async () => {
    const wire = new FakeWire(echoPeer({ close: (f, w) => { w.peerClose(1000); w.peerEof(); } }));
    expect(await run(code3000(), wire)).toMatchObject({ outcome: 'pass', behavior: 'OK', remoteCloseCode: 1000 });
  });

  it('is non-strict for a third code (neither the echo nor 1000)', async () => {
    const wire = new FakeWire(echoPeer({ close: (f, w) => { w.peerClose(1001); w.peerEof(); } }));
    const v = await run(code3000(), wire);
    expect(v).toMatchObject({ outcome: 'non-strict', behaviorClose: 'WRONG CODE' });
    expect(v.reason).toMatch(/Close 1001 instead of echoing Close 3000 "code 3000" or answering Close 1000/);
  });

  it('fails a peer that answers our Close by dropping TCP', async () => {
    const wire = new FakeWire(echoPeer({ close: (f, w) => w.peerEof() }));
    const v = await run(code3000(), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/MUST send a Close frame in response/);
  });

  it('fails a peer that answers a Close with an invalid close code', async () => {
    const wire = new FakeWire(echoPeer({ close: (f, w) => { w.peerClose(1005); w.peerEof(); } }));
    const v = await run(code3000(), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/invalid Close frame/);
  });

  it('is non-strict when the server does not close TCP after the closing handshake', async () => {
    const wire = new FakeWire(echoPeer({ close: (f, w) => w.peerSend({ opcode: Opcode.Close, payload: f.payload }) }));
    const v = await run(code3000(), wire);
    expect(v.outcome).toBe('non-strict');
    expect(v.reason).toMatch(/did not close TCP within 200 ms/);
  });

  it('fails a peer that echoes a message sent after our Close', async () => {
    let closed = false;
    const wire = new FakeWire((f, w) => {
      if (f.header.opcode === Opcode.Close) {
        closed = true;
        w.peerSend({ opcode: Opcode.Close, payload: f.payload });
      } else if (closed && f.header.opcode === Opcode.Text) {
        w.peerSend({ opcode: Opcode.Text, payload: f.payload });
        w.peerEof();
      }
    });
    const v = await run(byId('7.1.4'), wire);
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/text frame after its Close frame/);
  });

  it('fails a peer that ignores our Close and echoes the text sent after it', async () => {
    const wire = new FakeWire(echoPeer({ close: () => {} }));
    const v = await run(byId('7.1.4'), wire); // the peer ignores the Close but echoes the text
    expect(v.outcome).toBe('fail');
    expect(v.reason).toMatch(/expected Close 1000 in answer to our Close, but the server sent a text message/);
  });
});

describe('the observer', () => {
  it('reassembles fragmented messages and validates text across frames', () => {
    const o = new PeerObserver('server');
    const euro = utf8('€'); // e2 82 ac
    const events = [
      ...o.feed(encodeFrame({ opcode: Opcode.Text, payload: euro.subarray(0, 1), fin: false })),
      ...o.feed(encodeFrame({ opcode: Opcode.Ping, payload: utf8('p') })),
      ...o.feed(encodeFrame({ opcode: Opcode.Continuation, payload: euro.subarray(1) })),
    ];
    expect(events.map((e) => e.type)).toEqual(['ping', 'message']);
    expect(events[1]).toMatchObject({ opcode: Opcode.Text, frames: 2 });
  });

  it('flags a text message that ends inside a character', () => {
    const o = new PeerObserver('server');
    const [e] = o.feed(encodeFrame({ opcode: Opcode.Text, payload: new Uint8Array([0xe2, 0x82]) }));
    expect(e).toMatchObject({ type: 'violation', rfcSection: '§8.1' });
  });

  it('unmasks client frames and ignores everything after a violation', () => {
    const o = new PeerObserver('client');
    const key = new Uint8Array([0xa, 0xb, 0xc, 0xd]);
    const [message] = o.feed(encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array([1, 2, 3]), maskKey: key }));
    expect(message).toMatchObject({ type: 'message' });
    // Compare bytes, not classes: under node:net the bytes come from Buffer's pool.
    expect(message?.type === 'message' && [...message.data]).toEqual([1, 2, 3]);
    expect(o.feed(encodeFrame({ opcode: Opcode.Continuation, payload: new Uint8Array(1), maskKey: key }))).toMatchObject([{ type: 'violation', rfcSection: '§5.4' }]);
    expect(o.feed(encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(1), maskKey: key }))).toEqual([]);
    expect(o.eof('FIN')).toEqual([{ type: 'eof', detail: 'FIN' }]);
    expect(applyMask(new Uint8Array([1]), key)).toEqual(new Uint8Array([0x0b]));
  });

  it('describes events in plain words', () => {
    expect(describeEvent({ type: 'close', code: 1002, reason: 'bad', payload: new Uint8Array(0) })).toBe('sent Close 1002 "bad"');
    expect(describeEvent({ type: 'close', code: null, reason: '', payload: new Uint8Array(0) })).toBe('sent an empty Close (no status code)');
    expect(describeEvent({ type: 'message', opcode: 1, data: utf8('Hello'), frames: 2 })).toBe('sent a text message of 5 bytes in 2 frames ("Hello")');
  });
});

/**
 * Issue 16's judging fixes: run against 13 third-party peers, the battery judged these wrongly or
 * inconsistently. Each test below failed before its fix.
 */
describe('judging as Autobahn does (issue 16)', () => {
  it('fix 1: a pong for a ping that came after our Close is allowed, before or after the peer\'s Close (7.1.3, 7.1.6 informational)', async () => {
    // §5.5.2 exempts answering a ping after a Close; it does not forbid the answer.
    const pongAfterClose = new FakeWire(echoPeer({ close: (f, w) => { w.peerSend({ opcode: Opcode.Close, payload: f.payload }); }, ping: (f, w) => { w.peerSend({ opcode: Opcode.Pong, payload: f.payload }); w.peerEof(); } }));
    const v716 = await run(byId('7.1.6'), pongAfterClose, 2000);
    expect(v716).toMatchObject({ outcome: 'pass', behavior: 'INFORMATIONAL', behaviorClose: 'INFORMATIONAL', remoteCloseCode: 1000 });
    expect(v716.reason).toMatch(/sent a pong .* after its Close \(allowed/);
    const pongBeforeClose = new FakeWire((f, w) => {
      if (f.header.opcode === Opcode.Close) return; // answered once the ping came
      if (f.header.opcode === Opcode.Ping) {
        w.peerSend({ opcode: Opcode.Pong, payload: f.payload });
        w.peerClose(1000);
        w.peerEof();
      }
    });
    const v713 = await run(byId('7.1.3'), pongBeforeClose);
    expect(v713).toMatchObject({ outcome: 'pass', behavior: 'OK' });
    expect(v713.reason).toMatch(/before answering our Close \(allowed/);
  });

  it('fix 2: an echo without its leading BOM is informational, not a failure (a client API that decodes with WHATWG UTF-8 decode)', async () => {
    const c = byId('6.24.3');
    expect(c.description).toMatch(/byte order mark/);
    const stripper = new FakeWire(echoPeer({ message: (f, w) => w.peerSend({ opcode: f.header.opcode, payload: f.payload.subarray(3) }) }));
    const v = await run(c, stripper);
    expect(v).toMatchObject({ outcome: 'pass', behavior: 'INFORMATIONAL' });
    expect(v.reason).toMatch(/lacks the leading byte order mark .* WHATWG/);
    // Anything else missing is still a failure.
    const cutter = new FakeWire(echoPeer({ message: (f, w) => w.peerSend({ opcode: f.header.opcode, payload: f.payload.subarray(4) }) }));
    expect((await run(c, cutter)).outcome).toBe('fail');
  });

  it('fix 3: the wait for an echo grows with the bytes sent and awaited (a slow but correct peer passes)', async () => {
    const big = new Uint8Array(1024 * 1024).fill(0x61);
    const steps: Step[] = [{ kind: 'send', frames: [{ opcode: Opcode.Binary, payload: big }] }, { kind: 'expect-message', opcode: Opcode.Binary, payload: big }, ...closeStep()];
    // 700 ms for 1 MiB each way: past the 200 ms step timeout, within 200 ms + 2 MiB at 1 MiB/s.
    const slow = new FakeWire(echoPeer({ message: (f, w) => { setTimeout(() => w.peerSend({ opcode: f.header.opcode, payload: f.payload }), 700); } }));
    expect(await run(testCase(steps), slow, 200)).toMatchObject({ outcome: 'pass' });
    // A small message still gets only the step timeout (and a little): a peer that never answers fails in time.
    const silent = new FakeWire(echoPeer({ message: () => {} }));
    const t0 = Date.now();
    expect((await run(byId('1.1.2'), silent, 200)).reason).toMatch(/nothing came within 20\d ms/);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('fix 4: 1.3.1 (64-bit length with the top bit set) passes Close 1002 (strict) and Close 1009 (acceptable, noted why)', async () => {
    const answering = (code: number) => {
      const wire = new FakeWire(() => {});
      const write = wire.write.bind(wire);
      let fired = false;
      wire.write = (bytes) => {
        if (!fired && bytes[0] === 0x82) {
          fired = true;
          wire.peerClose(code);
          wire.peerEof();
        }
        return write(bytes);
      };
      return wire;
    };
    const c = byId('1.3.1');
    expect(c.expectation.pass).toMatch(/1002 .*strict.*1009/);
    expect(await run(c, answering(1002))).toMatchObject({ outcome: 'pass', reason: '', behavior: 'OK' });
    const v = await run(c, answering(1009));
    expect(v).toMatchObject({ outcome: 'pass', behavior: 'OK', remoteCloseCode: 1009 });
    expect(v.reason).toMatch(/MUST be 0" binds the sender.*Close 1002 is the strict answer/);
    expect((await run(c, answering(1000))).outcome).toBe('non-strict');
  });

  it('fix 5: 1012-1014 refused by Close 1002 or by dropping TCP are graded the same (non-strict, with the IANA registry named)', async () => {
    const c = byId('7.7.14');
    expect(c.description).toMatch(/1012/);
    const by1002 = await run(c, new FakeWire(echoPeer({ close: (f, w) => { w.peerClose(1002); w.peerEof(); } })));
    const byDrop = await run(c, new FakeWire(echoPeer({ close: (f, w) => w.peerEof() })));
    for (const v of [by1002, byDrop]) {
      expect(v.outcome).toBe('non-strict');
      expect(v.reason).toMatch(/refused Close 1012 .* IANA .*§11\.7/);
    }
    expect(by1002.behaviorClose).toBe('WRONG CODE');
    expect(byDrop.behaviorClose).toBe('UNCLEAN');
    expect(await run(c, new FakeWire(echoPeer()))).toMatchObject({ outcome: 'pass', behavior: 'OK' });
    // A code RFC 6455 lists, dropped without a Close, is still a failure (§5.5.1 MUST).
    expect((await run(byId('7.7.1'), new FakeWire(echoPeer({ close: (f, w) => w.peerEof() })))).outcome).toBe('fail');
  });

  it('fix 7: a peer that accepts an invalid close code is reported as accepting it', async () => {
    const c = byId('7.9.1'); // Close 0
    expect(c.description).toMatch(/invalid code 0$/);
    const v = await run(c, new FakeWire(echoPeer({ close: (f, w) => { w.peerClose(1000); w.peerEof(); } })));
    expect(v).toMatchObject({ outcome: 'non-strict', behaviorClose: 'WRONG CODE' });
    expect(v.reason).toMatch(/accepted our invalid Close: it answered with Close 1000 as to a valid one, instead of failing the connection with Close 1002/);
    expect(v.reason).not.toMatch(/failed the connection with Close 1000/);
  });
});
