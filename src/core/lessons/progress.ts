/**
 * The learner's progress through the lessons, kept as a small JSON file in the config directory
 * (`wsinspect learn`; the app keeps its own in the browser's storage). The file is read as
 * untrusted input: bounded in size, every field checked, anything odd is ignored, never thrown.
 */

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { configDirectory } from '../net/certificates.ts';

export { parseProgress, type LessonProgress, type Progress } from './progress-parse.ts';
import { MAX_PROGRESS_BYTES, parseProgress, type Progress } from './progress-parse.ts';

export function progressPath(env: Record<string, string | undefined> = process.env): string {
  return join(configDirectory(env), 'learn-progress.json');
}

export function loadProgress(path = progressPath()): Progress {
  try {
    return parseProgress(readFileSync(path, { encoding: 'utf8' }).slice(0, MAX_PROGRESS_BYTES + 1));
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
