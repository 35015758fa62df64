/**
 * The learner's progress through the lessons, kept as a small JSON file in the config directory
 * (`wsinspect learn`; the app keeps its own in the browser's storage). The file is read as
 * untrusted input: bounded in size, every field checked, anything odd is ignored, never thrown.
 */

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { configDirectory } from '../net/certificates.ts';
import { LESSONS } from './lessons.ts';

export interface LessonProgress {
  /** Steps done (detected or skipped), 0..steps.length. */
  stepsDone: number;
  /** The check question was answered correctly. */
  checkPassed: boolean;
}

export type Progress = Record<string, LessonProgress>;

/** A progress file larger than this is not ours: ignored. */
const MAX_FILE_BYTES = 64 * 1024;

export function progressPath(env: Record<string, string | undefined> = process.env): string {
  return join(configDirectory(env), 'learn-progress.json');
}

/** The saved progress, keeping only known lessons and sane values; {} when there is none or it is unreadable. */
export function parseProgress(text: string): Progress {
  if (text.length > MAX_FILE_BYTES) return {};
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

export function loadProgress(path = progressPath()): Progress {
  try {
    return parseProgress(readFileSync(path, { encoding: 'utf8' }).slice(0, MAX_FILE_BYTES + 1));
  } catch {
    return {};
  }
}

/** Writes atomically (a temporary file renamed over the old one); false when it cannot be written. */
export function saveProgress(progress: Progress, path = progressPath()): boolean {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(progress, null, 2) + '\n', { mode: 0o600 });
    renameSync(temporary, path);
    return true;
  } catch {
    return false;
  }
}
