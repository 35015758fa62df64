/**
 * --record FILE [--record-cap BYTES] for serve, connect and proxy: a session file of every
 * connection's bytes, written as they happen (src/core/capture/recorder.ts). Open it with
 * `wsinspect open FILE`, export it with `wsinspect export FILE`.
 */

import { SessionRecorder } from '../core/capture/recorder.ts';
import { DEFAULT_RECORD_CAP } from '../core/capture/session-file.ts';
import type { ProxyLeg } from '../core/capture/recording.ts';
import type { Tracer } from '../core/trace.ts';

/** The options to add to a command's parseArgs. */
export const recordArgs = { record: { type: 'string' }, 'record-cap': { type: 'string' } } as const;

export const recordUsage = `      --record FILE                  write every connection's bytes to a session file as they happen (open it with
                                     wsinspect open FILE; export with wsinspect export FILE)
      --record-cap BYTES             per frame, keep at most this many payload bytes in the recording; the rest is
                                     marked elided (default ${DEFAULT_RECORD_CAP})`;

export class RecordOptionError extends Error {}

/**
 * Starts recording if --record was given (null otherwise). Problems (a bad cap, a file that
 * cannot be created) are a RecordOptionError with one sentence.
 */
export function startRecording(
  values: { record?: string | undefined; 'record-cap'?: string | undefined },
  createdBy: string,
  tracers: readonly Tracer[],
  proxyLegOf?: (connectionId: string) => ProxyLeg | undefined,
): SessionRecorder | null {
  const capText = values['record-cap'];
  if (values.record === undefined) {
    if (capText !== undefined) throw new RecordOptionError('--record-cap goes with --record FILE');
    return null;
  }
  let cap = DEFAULT_RECORD_CAP;
  if (capText !== undefined) {
    if (!/^\d{1,16}$/.test(capText) || Number(capText) > Number.MAX_SAFE_INTEGER) throw new RecordOptionError(`--record-cap takes a number of bytes (got "${capText.slice(0, 40)}")`);
    cap = Number(capText);
  }
  const file = values.record;
  if (file.trim() === '' || file.includes('\0')) throw new RecordOptionError('--record needs a file name');
  let recorder: SessionRecorder;
  try {
    recorder = new SessionRecorder(file, { cap, createdBy, ...(proxyLegOf ? { proxyLegOf } : {}) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' || code === 'EPERM' ? 'not allowed to write it' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message;
    throw new RecordOptionError(`--record: cannot write ${JSON.stringify(file.slice(0, 200))}: ${why}`);
  }
  for (const tracer of tracers) recorder.attach(tracer);
  return recorder;
}
