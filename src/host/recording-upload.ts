/**
 * POST /upload/recording?name=FILE: how a recording file gets from the browser to the service.
 * The page sends the file's raw bytes (Content-Type: application/octet-stream, this run's token:
 * bridge-guard.ts); they are streamed to a private temporary file, never held in memory, and cut
 * off past the size cap (413 with one line). The service then reads the file like any other
 * recording, streaming (the readers bound what it can make them allocate), and keeps the temporary
 * copy while the recording is open, since Export reads it again; closing the recording removes it.
 * A path never comes from the page: what is opened is only what the person chose to upload.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InspectorService } from '../service/inspector-service.ts';
import type { RecordingInfo, Result } from '../shared/inspector-api.ts';

/** Default cap on an uploaded recording (the ordinary way to open a bigger one is `wsinspect open`). */
export const DEFAULT_UPLOAD_LIMIT_BYTES = 2 * 1024 * 1024 * 1024;

export type UploadAnswer = { status: number; body: Result<{ recording: RecordingInfo; warning: string | null }> };

function tooBig(limit: number): UploadAnswer {
  return { status: 413, body: { ok: false, error: `The file is larger than the ${limit} bytes the app accepts; open it with \`wsinspect open FILE\` instead.` } };
}

/** The file name the page gave, for messages only (control characters dropped, at most 200 characters). */
export function uploadName(url: URL): string {
  return (url.searchParams.get('name') ?? '').replace(/[\p{Cc}\p{Cf}]/gu, '').slice(0, 200) || 'the uploaded file';
}

/** The page's frame ring size (?maxFrames=N): an opened recording loads no more frames than it keeps. Anything else is ignored. */
export function uploadMaxFrames(url: URL): number | undefined {
  const value = Number(url.searchParams.get('maxFrames') ?? NaN);
  return Number.isSafeInteger(value) && value >= 1000 && value <= 10_000_000 ? value : undefined;
}

/** Streams the body to a temporary file (at most `limit` bytes) and opens it as a recording, which owns the file from then on. */
export async function receiveRecording(req: IncomingMessage, url: URL, service: InspectorService, limit: number): Promise<UploadAnswer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return tooBig(limit);
  }
  const dir = mkdtempSync(join(tmpdir(), 'wsinspect-upload-'));
  const path = join(dir, 'recording');
  let handedOver = false;
  try {
    const out = createWriteStream(path, { mode: 0o600 });
    let size = 0;
    let over = false;
    try {
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > limit) {
          over = true;
          break;
        }
        // Backpressure: wait for the disk when the write buffer is full.
        // (events.once rejects on 'error' and removes both listeners either way: a large upload waits
        // for the disk thousands of times.)
        if (!out.write(chunk)) await once(out, 'drain');
      }
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
    if (over) {
      req.resume();
      return tooBig(limit);
    }
    if (size === 0) return { status: 200, body: { ok: false, error: `${uploadName(url)} is empty.` } };
    // From here the recording owns the folder: it removes it when closed, or at once if the open fails.
    handedOver = true;
    const maxFrames = uploadMaxFrames(url);
    return { status: 200, body: await service.openRecording(path, uploadName(url), { ownedDir: dir, ...(maxFrames ? { maxFrames } : {}) }) };
  } finally {
    if (!handedOver) rmSync(dir, { recursive: true, force: true });
  }
}
