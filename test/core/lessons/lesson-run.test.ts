import { describe, expect, it } from 'vitest';
import type { Lesson } from '../../../src/core/lessons/lesson.ts';
import { LessonRun, sentByClient } from '../../../src/core/lessons/lesson-run.ts';
import type { TraceBody, TraceEvent } from '../../../src/core/trace.ts';

let seq = 0;
const ev = (connectionId: string, body: TraceBody): TraceEvent => ({ ...body, seq: ++seq, time: Date.now(), connectionId }) as TraceEvent;

const lesson: Lesson = {
  id: 't', title: 'T', sections: ['§5.5.2'], summary: 's', quotes: [],
  check: { question: 'q', choices: ['a', 'b'], answer: 0, why: 'w' },
  steps: [
    { id: 'note', task: 'a note', tryIt: {}, detect: (e) => (e.type === 'note' ? { connectionId: e.connectionId, explanation: [e.text], seqs: [e.seq] } : null) },
    { id: 'throws', task: 'never', tryIt: {}, detect: (e) => { if (e.type === 'note') throw new Error('odd'); return null; } },
    { id: 'error', task: 'an error', tryIt: {}, detect: (e) => (e.type === 'error' ? { connectionId: e.connectionId, explanation: ['x'], seqs: [] } : null) },
  ],
};

describe('LessonRun', () => {
  it('moves on when a step is detected, reports the lesson done after the last', () => {
    const run = new LessonRun(lesson);
    expect(run.feed(ev('c1', { type: 'error', message: 'not yet' }))).toEqual([]);
    const done = run.feed(ev('c1', { type: 'note', text: 'hello' }));
    expect(done).toMatchObject([{ type: 'step-done', stepIndex: 0, evidence: { explanation: ['hello'] } }]);
    expect(run.stepIndex).toBe(1);
    // A detector that throws on an odd event is not the learner's fault: nothing happens.
    expect(run.feed(ev('c1', { type: 'note', text: 'again' }))).toEqual([]);
    expect(run.skip()).toEqual([]);
    expect(run.feed(ev('c1', { type: 'error', message: 'now' }))).toMatchObject([{ type: 'step-done', stepIndex: 2 }, { type: 'lesson-done' }]);
    expect(run.finished).toBe(true);
    expect(run.feed(ev('c1', { type: 'error', message: 'after' }))).toEqual([]);
  });

  it('starts at a given step, clamped to the lesson', () => {
    expect(new LessonRun(lesson, 2).stepIndex).toBe(2);
    expect(new LessonRun(lesson, 99).finished).toBe(true);
    expect(new LessonRun(lesson, -5).stepIndex).toBe(0);
    expect(new LessonRun(lesson, Number.NaN).stepIndex).toBe(0);
  });

  it('skipping the last step finishes the lesson', () => {
    const run = new LessonRun(lesson, 2);
    expect(run.skip()).toEqual([{ type: 'lesson-done' }]);
    expect(run.skip()).toEqual([]);
  });

  it('remembers a bounded number of connections (a page opening thousands cannot grow it)', () => {
    const run = new LessonRun(lesson, 3);
    for (let i = 0; i < 10_000; i++) run.feed(ev(`c${i}`, { type: 'connection-opened', role: 'server', local: 'a', remote: 'b' }));
    expect((run as unknown as { memories: Map<string, unknown> }).memories.size).toBeLessThanOrEqual(64);
  });

  it('tells who sent a frame from our role', () => {
    expect(sentByClient('in', 'server')).toBe(true);
    expect(sentByClient('out', 'server')).toBe(false);
    expect(sentByClient('out', 'client')).toBe(true);
    expect(sentByClient('in', 'client')).toBe(false);
    expect(sentByClient('in', null)).toBe(true);
  });
});
