/**
 * The Learn area's store (src/renderer/src/store/learn.ts) fed with a real trace: our server's
 * events while the ws package's client does what the masking lesson asks. Steps are checked off
 * with the learner's bytes, progress lands in storage and is read back validated, skip, restart and
 * the check question behave, and with no lesson open feeding changes nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { echoComponent } from '../../src/core/apps/index.ts';
import { LESSONS } from '../../src/core/lessons/lessons.ts';
import { WebSocketServer } from '../../src/core/net/server.ts';
import { Tracer, type TraceEvent } from '../../src/core/trace.ts';
import { CURRENT_KEY, feedLearn, PROGRESS_KEY, useLearn, useLearnStorage, type KeyValueStorage } from '../../src/renderer/src/store/learn.ts';

class MemoryStorage implements KeyValueStorage {
  readonly items = new Map<string, string>();
  getItem(key: string) { return this.items.get(key) ?? null; }
  setItem(key: string, value: string) { this.items.set(key, value); }
}

let server: WebSocketServer;
let url: string;
const events: TraceEvent[] = [];
let storage: MemoryStorage;

beforeAll(async () => {
  const tracer = new Tracer();
  tracer.subscribe((e) => events.push(e));
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tracer, deflate: false });
  ({ url } = await server.listen());
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => {
  storage = new MemoryStorage();
  useLearnStorage(storage);
  useLearn.getState().load();
  events.length = 0;
});

/** Sends these messages from a fresh client and waits for their echoes; the server's trace is in `events`. */
async function clientSends(...messages: string[]): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((r) => ws.once('open', r));
  for (const m of messages) {
    ws.send(m);
    await new Promise((r) => ws.once('message', r));
  }
  ws.close();
  await new Promise((r) => ws.once('close', r));
}

describe('learn store', () => {
  it('with no lesson open, feeding events changes nothing', async () => {
    useLearn.getState().open(null);
    await clientSends('Hello');
    const before = useLearn.getState();
    feedLearn(events);
    expect(useLearn.getState()).toBe(before);
  });

  it('checks off the masking lesson from a real trace, with the learner\'s bytes, and saves progress', async () => {
    useLearn.getState().open('masking');
    expect(storage.getItem(CURRENT_KEY)).toBe('masking');
    await clientSends('Hello', 'Hello');
    feedLearn(events);
    const s = useLearn.getState();
    expect(s.stepIndex).toBe(3);
    expect(s.outcomes.map((o) => o.kind)).toEqual(['detected', 'detected', 'detected']);
    const first = s.outcomes[0]!;
    if (first.kind !== 'detected') throw new Error('not detected');
    expect(first.evidence.explanation.join('\n')).toMatch(/XOR key\[0\] 0x[0-9a-f]{2} = 0x48 \('H'\)/);
    expect(first.frameKey).toMatch(/^.+:\d+$/);
    expect(JSON.parse(storage.getItem(PROGRESS_KEY)!)).toEqual({ masking: { stepsDone: 3, checkPassed: false } });
  });

  it('the check question: a wrong answer saves nothing, the right one is remembered', () => {
    useLearn.getState().open('masking');
    const lesson = LESSONS.find((l) => l.id === 'masking')!;
    useLearn.getState().choose(lesson.check.answer === 0 ? 1 : 0);
    expect(useLearn.getState().progress['masking']?.checkPassed ?? false).toBe(false);
    useLearn.getState().choose(99); // not a choice: ignored
    useLearn.getState().choose(lesson.check.answer);
    expect(useLearn.getState().answer).toBe(lesson.check.answer);
    expect(JSON.parse(storage.getItem(PROGRESS_KEY)!).masking.checkPassed).toBe(true);
  });

  it('skip moves on and counts as done; restart starts over; reopening resumes at the saved step', () => {
    useLearn.getState().open('handshake');
    useLearn.getState().skip();
    expect(useLearn.getState().stepIndex).toBe(1);
    expect(useLearn.getState().outcomes).toEqual([{ kind: 'skipped' }]);
    useLearn.getState().open('accept');
    useLearn.getState().open('handshake');
    expect(useLearn.getState().stepIndex).toBe(1);
    expect(useLearn.getState().outcomes).toEqual([{ kind: 'earlier' }]);
    useLearn.getState().restart();
    expect(useLearn.getState().stepIndex).toBe(0);
    expect(JSON.parse(storage.getItem(PROGRESS_KEY)!).handshake).toEqual({ stepsDone: 0, checkPassed: false });
  });

  it('reads stored progress as untrusted: unknown lessons, bad values and oversized text are ignored', () => {
    storage.setItem(PROGRESS_KEY, '{"masking": {"stepsDone": 99, "checkPassed": true}, "handshake": "yes", "evil": {"stepsDone": 1}, "__proto__": {"stepsDone": 1}}');
    storage.setItem(CURRENT_KEY, 'no-such-lesson');
    useLearn.getState().open(null);
    storage.setItem(CURRENT_KEY, 'no-such-lesson');
    useLearn.getState().load();
    expect(useLearn.getState().progress).toEqual({ masking: { stepsDone: 3, checkPassed: true } });
    expect(useLearn.getState().lessonId).toBeNull();
    storage.setItem(PROGRESS_KEY, JSON.stringify({ masking: { stepsDone: 1, checkPassed: false }, pad: 'x'.repeat(70_000) }));
    storage.setItem(CURRENT_KEY, 'masking');
    useLearn.getState().load();
    expect(useLearn.getState().progress).toEqual({});
    expect(useLearn.getState().lessonId).toBe('masking');
  });

  it('a storage that throws loses the progress for later visits, not the lesson', async () => {
    useLearnStorage({ getItem() { throw new Error('denied'); }, setItem() { throw new Error('full'); } });
    useLearn.getState().load();
    useLearn.getState().open('masking');
    await clientSends('Hello');
    feedLearn(events);
    expect(useLearn.getState().stepIndex).toBeGreaterThanOrEqual(1);
  });
});
