/**
 * Follows one lesson over a live trace: feeds every event to the current step's detector and moves
 * on when it fires. The same object serves the CLI (`wsinspect learn`), the app and the tests.
 */

import { toHex } from '../bytes.ts';
import type { Direction, Role, TraceEvent } from '../trace.ts';
import type { ConnectionMemory, Lesson, StepEvidence } from './lesson.ts';

/** Connections remembered at once; the oldest is forgotten past this (a page that opens thousands). */
const MAX_CONNECTIONS = 64;
const MAX_MASK_KEYS = 8;

export type LessonRunEvent =
  | { type: 'step-done'; stepIndex: number; evidence: StepEvidence }
  | { type: 'lesson-done' };

/**
 * Whether a frame or head in this direction was sent by the WebSocket client. Our server receives
 * ('in') what the client sends; our client sends ('out') it. Unknown role: taken as our server,
 * which is how lessons are usually run.
 */
export function sentByClient(direction: Direction, role: Role | null): boolean {
  return role === 'client' ? direction === 'out' : direction === 'in';
}

export class LessonRun {
  private readonly memories = new Map<string, ConnectionMemory>();
  private current = 0;
  private readonly done: StepEvidence[] = [];

  constructor(readonly lesson: Lesson, startAt = 0) {
    this.current = Math.max(0, Math.min(lesson.steps.length, Math.trunc(startAt) || 0));
  }

  /** Index of the step the learner is on; steps.length once every step is done. */
  get stepIndex(): number {
    return this.current;
  }

  get finished(): boolean {
    return this.current >= this.lesson.steps.length;
  }

  /** Evidence of the steps done so far, in order. */
  get evidence(): readonly StepEvidence[] {
    return this.done;
  }

  /** Skips the current step (the learner cannot or does not want to do it). */
  skip(): LessonRunEvent[] {
    if (this.finished) return [];
    this.current++;
    return this.finished ? [{ type: 'lesson-done' }] : [];
  }

  /** One trace event; what it completed, if anything. Never throws on an odd event. */
  feed(event: TraceEvent): LessonRunEvent[] {
    const memory = this.memoryFor(event);
    if (event.type === 'connection-opened') memory.role = event.role;
    const out: LessonRunEvent[] = [];
    if (!this.finished) {
      const step = this.lesson.steps[this.current]!;
      let evidence: StepEvidence | null = null;
      try {
        evidence = step.detect(event, memory);
      } catch {
        evidence = null; // a detector reading an event it did not expect is not the learner's fault
      }
      if (evidence) {
        this.done.push(evidence);
        out.push({ type: 'step-done', stepIndex: this.current, evidence });
        this.current++;
        if (this.finished) out.push({ type: 'lesson-done' });
      }
    }
    remember(event, memory);
    if (event.type === 'connection-closed') this.memories.delete(event.connectionId);
    return out;
  }

  private memoryFor(event: TraceEvent): ConnectionMemory {
    let memory = this.memories.get(event.connectionId);
    if (!memory) {
      memory = { role: null, framesFromClient: 0, framesFromServer: 0, recentMaskKeys: [], closeFromClient: false, closeFromServer: false, lastPing: null };
      this.memories.set(event.connectionId, memory);
      if (this.memories.size > MAX_CONNECTIONS) this.memories.delete(this.memories.keys().next().value!);
    }
    return memory;
  }
}

/** Updates a connection's memory after its detector saw the event (so detectors see the past). */
function remember(event: TraceEvent, memory: ConnectionMemory): void {
  if (event.type !== 'frame') return;
  const { frame } = event;
  const fromClient = sentByClient(event.direction, memory.role);
  if (fromClient) memory.framesFromClient++;
  else memory.framesFromServer++;
  if (fromClient && frame.maskKey) {
    memory.recentMaskKeys.push(toHex(frame.maskKey));
    if (memory.recentMaskKeys.length > MAX_MASK_KEYS) memory.recentMaskKeys.shift();
  }
  if (frame.opcode === 0x9) memory.lastPing = { payload: toHex(frame.payload), fromClient };
  if (frame.opcode === 0x8) {
    if (fromClient) memory.closeFromClient = true;
    else memory.closeFromServer = true;
  }
}
