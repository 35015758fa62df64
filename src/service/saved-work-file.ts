/**
 * Saved work on disk (issue 13): saved-work.json in the user's config directory, as
 * src/core/lessons/progress.ts keeps lesson progress: read as untrusted input (bounded, checked
 * entry by entry, src/shared/saved-work.ts), written atomically (a temporary file renamed).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { configDirectory } from '../core/net/certificates.ts';
import { emptySavedWork, parseSavedWork, SavedWorkLimits, type SavedWork } from '../shared/saved-work.ts';

export function savedWorkPath(dir = configDirectory()): string {
  return join(dir, 'saved-work.json');
}

/** Parses a saved-work file's text: the work as far as it is valid, or why it is not one. */
export function readSavedWorkText(text: string): { work: SavedWork; skipped: number } | string {
  if (text.length > SavedWorkLimits.fileBytes) return `larger than ${SavedWorkLimits.fileBytes} bytes`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  return parseSavedWork(data);
}

/** What is kept; nothing (no file, an unreadable one) is empty work. */
export function loadSavedWork(path: string): SavedWork {
  try {
    const parsed = readSavedWorkText(readFileSync(path, { encoding: 'utf8' }).slice(0, SavedWorkLimits.fileBytes + 1));
    return typeof parsed === 'string' ? emptySavedWork() : parsed.work;
  } catch {
    return emptySavedWork();
  }
}

/** Writes atomically; the reason in words when it cannot. */
export function storeSavedWork(work: SavedWork, path: string): string | null {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(work, null, 2) + '\n', { mode: 0o600 });
    renameSync(temporary, path);
    return null;
  } catch (error) {
    return `Cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
}
