/**
 * What the composer sent, newest first, to send again: each entry is the request without its
 * connection, so it can go to whichever connection is selected now. Bounded (HISTORY_SIZE
 * entries, a payload kept up to HISTORY_PAYLOAD_CHARS), for this window's session only.
 */
import { create } from 'zustand';
import type { SendRequest } from '../../../shared/inspector-api.ts';

export const HISTORY_SIZE = 30;
/** Longer payloads are not kept (a 16 MiB file sent once must not stay in memory twice). */
export const HISTORY_PAYLOAD_CHARS = 64 * 1024;

type Unbound<T> = T extends unknown ? Omit<T, 'connectionId'> : never;
export type SentMessage = Unbound<SendRequest>;

export interface HistoryEntry {
  id: number;
  time: number;
  /** Where it went first, e.g. "server1:3". */
  connectionId: string;
  message: SentMessage;
}

/** One line for the list: kind, size and the start of the payload. */
export function describeSent(m: SentMessage): string {
  switch (m.kind) {
    case 'text': return `text ${JSON.stringify(m.text.length > 60 ? `${m.text.slice(0, 60)}…` : m.text)}`;
    case 'binary': return `binary ${m.hex.length / 2} bytes ${m.hex.slice(0, 24)}${m.hex.length > 24 ? '…' : ''}`;
    case 'ping':
    case 'pong': return `${m.kind}${m.text ? ` ${JSON.stringify(m.text)}` : ''}`;
    case 'close': return `close ${m.code ?? '(no code)'}${m.reason ? ` ${JSON.stringify(m.reason)}` : ''}`;
  }
}

function payloadChars(m: SentMessage): number {
  return m.kind === 'text' ? m.text.length : m.kind === 'binary' ? m.hex.length : 0;
}

interface ComposerHistory {
  entries: HistoryEntry[];
  add: (request: SendRequest) => void;
  clear: () => void;
}

let nextId = 1;

export const useComposerHistory = create<ComposerHistory>()((set) => ({
  entries: [],
  add: (request) => {
    const { connectionId, ...message } = request;
    if (payloadChars(message as SentMessage) > HISTORY_PAYLOAD_CHARS) return;
    set((s) => ({ entries: [{ id: nextId++, time: Date.now(), connectionId, message: message as SentMessage }, ...s.entries].slice(0, HISTORY_SIZE) }));
  },
  clear: () => set({ entries: [] }),
}));
