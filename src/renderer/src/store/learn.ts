/**
 * The Learn area's state (issue 15, guided lessons): which lesson is open, the LessonRun that
 * follows it over the live trace, the evidence of each step, the check question's answer and the
 * progress, remembered in this browser's storage (read back as untrusted input).
 *
 * Every trace event the page receives goes through feedLearn(); with no lesson open it returns at
 * once, so the main views' batch path pays one comparison per batch.
 */
import { create } from 'zustand';
import { LessonRun } from '../../../core/lessons/lesson-run.ts';
import type { Lesson, StepEvidence } from '../../../core/lessons/lesson.ts';
import { LESSONS } from '../../../core/lessons/lessons.ts';
import { MAX_PROGRESS_BYTES, parseProgress, type Progress } from '../../../core/lessons/progress-parse.ts';
import type { TraceEvent } from '../../../core/trace.ts';

export const PROGRESS_KEY = 'wsinspect.learn.progress';
export const CURRENT_KEY = 'wsinspect.learn.current';

/** What a step left behind: the learner's evidence, or that it was skipped or done in an earlier visit. */
export type StepOutcome =
  | { kind: 'detected'; evidence: StepEvidence; /** connectionId:frameId when a frame did it. */ frameKey: string | null }
  | { kind: 'skipped' }
  | { kind: 'earlier' };

/** The part of the Web Storage API used here (a Map stands in for it in unit tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

function browserStorage(): KeyValueStorage | null {
  try {
    return (globalThis as { localStorage?: KeyValueStorage }).localStorage ?? null;
  } catch {
    return null; // storage refused (a sandboxed or privacy-mode page)
  }
}

let storage: KeyValueStorage | null = browserStorage();

/** Unit tests give their own storage; the app uses the browser's. */
export function useLearnStorage(next: KeyValueStorage | null): void {
  storage = next;
}

function readStored(key: string): string | null {
  try {
    const text = storage?.getItem(key) ?? null;
    return text !== null && text.length <= MAX_PROGRESS_BYTES ? text : null;
  } catch {
    return null;
  }
}

function writeStored(key: string, value: string): void {
  try {
    storage?.setItem(key, value);
  } catch {
    // full or refused storage: progress is kept for this visit only
  }
}

export function lessonById(id: string | null): Lesson | undefined {
  return id === null ? undefined : LESSONS.find((l) => l.id === id);
}

export interface LearnState {
  lessonId: string | null;
  /** The step the learner is on; steps.length once all are done. */
  stepIndex: number;
  /** One entry per step already passed, in order. */
  outcomes: StepOutcome[];
  /** The choice picked for the check question (null: not answered yet). */
  answer: number | null;
  progress: Progress;
  open(lessonId: string | null): void;
  skip(): void;
  /** Starts the open lesson again from its first step. */
  restart(): void;
  choose(choice: number): void;
  /** Reads progress and the open lesson back from storage (at start, and after a reload). */
  load(): void;
}

/** The run following the open lesson; outside the store's state (it is mutable). */
let run: LessonRun | null = null;

function saveProgress(progress: Progress): void {
  writeStored(PROGRESS_KEY, JSON.stringify(progress));
}

export const useLearn = create<LearnState>()((set, get) => {
  const record = (lessonId: string, change: Partial<Progress[string]>): Progress => {
    const lesson = lessonById(lessonId)!;
    const before = get().progress[lessonId] ?? { stepsDone: 0, checkPassed: false };
    const entry = { ...before, ...change };
    entry.stepsDone = Math.max(0, Math.min(lesson.steps.length, entry.stepsDone));
    const progress = { ...get().progress, [lessonId]: entry };
    saveProgress(progress);
    return progress;
  };

  return {
    lessonId: null,
    stepIndex: 0,
    outcomes: [],
    answer: null,
    progress: {},

    open(lessonId) {
      const lesson = lessonById(lessonId);
      writeStored(CURRENT_KEY, lesson?.id ?? '');
      if (!lesson) {
        run = null;
        set({ lessonId: null, stepIndex: 0, outcomes: [], answer: null });
        return;
      }
      const done = get().progress[lesson.id]?.stepsDone ?? 0;
      run = new LessonRun(lesson, done);
      set({ lessonId: lesson.id, stepIndex: run.stepIndex, outcomes: Array.from({ length: run.stepIndex }, () => ({ kind: 'earlier' as const })), answer: null });
    },

    skip() {
      const { lessonId, outcomes } = get();
      if (!run || !lessonId || run.finished) return;
      run.skip();
      set({ stepIndex: run.stepIndex, outcomes: [...outcomes, { kind: 'skipped' }], progress: record(lessonId, { stepsDone: run.stepIndex }) });
    },

    restart() {
      const { lessonId } = get();
      const lesson = lessonById(lessonId);
      if (!lesson) return;
      run = new LessonRun(lesson);
      set({ stepIndex: 0, outcomes: [], answer: null, progress: record(lesson.id, { stepsDone: 0, checkPassed: false }) });
    },

    choose(choice) {
      const { lessonId } = get();
      const lesson = lessonById(lessonId);
      if (!lesson || !Number.isInteger(choice) || choice < 0 || choice >= lesson.check.choices.length) return;
      const right = choice === lesson.check.answer;
      set({ answer: choice, ...(right ? { progress: record(lesson.id, { checkPassed: true }) } : {}) });
    },

    load() {
      const progress = parseProgress(readStored(PROGRESS_KEY) ?? '{}');
      set({ progress });
      // The lesson left open, if any; else whatever is open stays (the Learn view may have opened one already).
      const current = lessonById(readStored(CURRENT_KEY));
      if (current) get().open(current.id);
      else if (get().lessonId) get().open(get().lessonId);
    },
  };
});

/**
 * Feeds the page's trace events to the open lesson. Cheap when no lesson is open (one check);
 * with one open, each event goes to the current step's detector, and the store changes only when
 * a step was done.
 */
export function feedLearn(events: readonly TraceEvent[]): void {
  if (!run || run.finished) return;
  const { lessonId } = useLearn.getState();
  if (!lessonId) return;
  const detected: StepOutcome[] = [];
  for (const event of events) {
    for (const happened of run.feed(event)) {
      if (happened.type !== 'step-done') continue;
      detected.push({ kind: 'detected', evidence: happened.evidence, frameKey: event.type === 'frame' ? `${event.connectionId}:${event.frame.frameId}` : null });
    }
    if (run.finished) break;
  }
  if (detected.length === 0) return;
  const state = useLearn.getState();
  const lesson = lessonById(lessonId)!;
  const before = state.progress[lessonId] ?? { stepsDone: 0, checkPassed: false };
  const progress = { ...state.progress, [lessonId]: { ...before, stepsDone: Math.min(lesson.steps.length, run.stepIndex) } };
  saveProgress(progress);
  useLearn.setState({ stepIndex: run.stepIndex, outcomes: [...state.outcomes, ...detected], progress });
}
