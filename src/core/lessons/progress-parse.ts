/**
 * The learner's progress through the lessons as data, and its validation: shared by the CLI's
 * progress file (progress.ts) and the app's browser storage (renderer store/learn.ts). Saved
 * progress is untrusted input: bounded in size, every field checked, anything odd ignored.
 */

import { LESSONS } from './lessons.ts';

export interface LessonProgress {
  /** Steps done (detected or skipped), 0..steps.length. */
  stepsDone: number;
  /** The check question was answered correctly. */
  checkPassed: boolean;
}

export type Progress = Record<string, LessonProgress>;

/** Saved progress larger than this is not ours: ignored. */
export const MAX_PROGRESS_BYTES = 64 * 1024;

/** The saved progress, keeping only known lessons and sane values; {} when there is none or it is unreadable. */
export function parseProgress(text: string): Progress {
  if (text.length > MAX_PROGRESS_BYTES) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return {};
  const out: Progress = {};
  for (const lesson of LESSONS) {
    const entry = Object.hasOwn(data, lesson.id) ? (data as Record<string, unknown>)[lesson.id] : undefined;
    if (typeof entry !== 'object' || entry === null) continue;
    const { stepsDone, checkPassed } = entry as Record<string, unknown>;
    if (typeof stepsDone !== 'number' || !Number.isInteger(stepsDone)) continue;
    out[lesson.id] = { stepsDone: Math.max(0, Math.min(lesson.steps.length, stepsDone)), checkPassed: checkPassed === true };
  }
  return out;
}
