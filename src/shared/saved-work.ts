/**
 * Saved work (issue 13): saved connections (URL, subprotocols, headers, TLS options) and saved
 * messages (named, ordered sequences sent in order with delays). One small JSON document, kept in
 * the user's config directory by the service (src/service/saved-work-file.ts) and imported and
 * exported as a file. Everything here reads untrusted input (a file, the page): bounded, every
 * field checked; what does not fit is skipped and counted, never thrown.
 */

export interface SavedConnection {
  name: string;
  url: string;
  subprotocols: string[];
  /** Extra handshake headers, "Name: value". */
  headers: string[];
  /** wss://: extra CAs (file names or PEM text). */
  ca: string[];
  /** wss://: connect without verifying the certificate. */
  insecure: boolean;
}

export type SavedStep =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; hex: string }
  | { kind: 'ping' | 'pong'; text: string }
  | { kind: 'close'; code: number | null; reason: string }
  | { kind: 'wait'; ms: number };

export interface SavedSequence {
  name: string;
  steps: SavedStep[];
}

export interface SavedWork {
  format: typeof SAVED_WORK_FORMAT;
  version: 1;
  connections: SavedConnection[];
  sequences: SavedSequence[];
}

export const SAVED_WORK_FORMAT = 'wsinspect-saved-work';
export const SavedWorkLimits = {
  fileBytes: 1024 * 1024,
  connections: 200,
  sequences: 200,
  steps: 500,
  name: 100,
  url: 2048,
  /** One step's text or hex, in characters. */
  payload: 64 * 1024,
  lines: 50,
  line: 8192,
  /** One wait, in milliseconds. */
  waitMs: 60_000,
} as const;

export function emptySavedWork(): SavedWork {
  return { format: SAVED_WORK_FORMAT, version: 1, connections: [], sequences: [] };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, max: number): string | null => (typeof v === 'string' && v.length <= max ? v : null);
/** A name shown in the list: control characters dropped, trimmed, not empty. */
const cleanName = (v: unknown): string | null => {
  const s = str(v, SavedWorkLimits.name)?.replace(/[\p{Cc}\p{Cf}]/gu, '').trim();
  return s ? s : null;
};
const lines = (v: unknown): string[] | null => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > SavedWorkLimits.lines) return null;
  const out = v.map((s) => str(s, SavedWorkLimits.line));
  return out.every((s): s is string => s !== null) ? out : null;
};

export function checkConnection(v: unknown): SavedConnection | null {
  if (!isObject(v)) return null;
  const name = cleanName(v['name']);
  const url = str(v['url'], SavedWorkLimits.url)?.trim();
  if (!name || !url || !/^wss?:\/\//i.test(url)) return null;
  const subprotocols = lines(v['subprotocols']), headers = lines(v['headers']), ca = lines(v['ca']);
  if (!subprotocols || !headers || !ca) return null;
  if (v['insecure'] !== undefined && typeof v['insecure'] !== 'boolean') return null;
  return { name, url, subprotocols, headers, ca, insecure: v['insecure'] === true };
}

export function checkStep(v: unknown): SavedStep | null {
  if (!isObject(v)) return null;
  const text = v['text'] === undefined ? '' : str(v['text'], SavedWorkLimits.payload);
  switch (v['kind']) {
    case 'text':
      return text === null ? null : { kind: 'text', text };
    case 'ping':
    case 'pong':
      // A control frame's payload is at most 125 bytes (§5.5); the sender says so when it is longer.
      return text === null ? null : { kind: v['kind'], text };
    case 'binary': {
      const hex = str(v['hex'], SavedWorkLimits.payload);
      return hex !== null && /^[0-9a-fA-F\s]*$/.test(hex) && hex.replace(/\s/g, '').length % 2 === 0 ? { kind: 'binary', hex } : null;
    }
    case 'close': {
      const code = v['code'] ?? null;
      const reason = v['reason'] === undefined ? '' : str(v['reason'], 123);
      return (code === null || (Number.isInteger(code) && (code as number) >= 0 && (code as number) <= 65535)) && reason !== null ? { kind: 'close', code: code as number | null, reason } : null;
    }
    case 'wait': {
      const ms = v['ms'];
      return Number.isInteger(ms) && (ms as number) >= 0 && (ms as number) <= SavedWorkLimits.waitMs ? { kind: 'wait', ms: ms as number } : null;
    }
    default:
      return null;
  }
}

export function checkSequence(v: unknown): SavedSequence | null {
  if (!isObject(v)) return null;
  const name = cleanName(v['name']);
  if (!name || !Array.isArray(v['steps']) || v['steps'].length === 0 || v['steps'].length > SavedWorkLimits.steps) return null;
  const steps = v['steps'].map(checkStep);
  return steps.every((s): s is SavedStep => s !== null) ? { name, steps } : null;
}

/** A saved-work document as far as it is valid: entries that do not fit are skipped and counted. */
export function parseSavedWork(v: unknown): { work: SavedWork; skipped: number } | string {
  if (!isObject(v) || v['format'] !== SAVED_WORK_FORMAT) return `not a saved-work file (its "format" is not "${SAVED_WORK_FORMAT}")`;
  const work = emptySavedWork();
  let skipped = 0;
  const take = <T>(list: unknown, check: (x: unknown) => T | null, into: T[], max: number) => {
    if (!Array.isArray(list)) return;
    for (const item of list) {
      const ok = into.length < max ? check(item) : null;
      if (ok) into.push(ok);
      else skipped++;
    }
  };
  take(v['connections'], checkConnection, work.connections, SavedWorkLimits.connections);
  take(v['sequences'], checkSequence, work.sequences, SavedWorkLimits.sequences);
  return { work, skipped };
}

/** Same names: the later one replaces the earlier (import over what is kept). */
export function mergeSavedWork(base: SavedWork, added: SavedWork): SavedWork {
  const byName = <T extends { name: string }>(a: T[], b: T[], max: number) => {
    const map = new Map(a.map((x) => [x.name, x]));
    for (const x of b) map.set(x.name, x);
    return [...map.values()].slice(0, max);
  };
  return { ...emptySavedWork(), connections: byName(base.connections, added.connections, SavedWorkLimits.connections), sequences: byName(base.sequences, added.sequences, SavedWorkLimits.sequences) };
}

/**
 * A sequence written one step a line, as the app's editor takes it:
 *   text Hello            binary 01 02 ff          ping are you there
 *   pong                  close 1000 bye           wait 500   (milliseconds)
 * Answers the steps, or the first line that is not one, in words.
 */
export function parseSteps(source: string): SavedStep[] | string {
  const steps: SavedStep[] = [];
  const all = source.split('\n');
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const match = /^\s*(\w+)(?: (.*))?$/.exec(line);
    const kind = match?.[1]?.toLowerCase();
    const rest = match?.[2] ?? '';
    let step: SavedStep | null = null;
    if (kind === 'text' || kind === 'ping' || kind === 'pong') step = checkStep({ kind, text: rest });
    else if (kind === 'binary') step = checkStep({ kind, hex: rest.trim() });
    else if (kind === 'wait') step = /^\d+$/.test(rest.trim()) ? checkStep({ kind, ms: Number(rest.trim()) }) : null;
    else if (kind === 'close') {
      const c = /^(\d+)?(?: (.*))?$/.exec(rest.trim());
      step = c ? checkStep({ kind, code: c[1] === undefined ? null : Number(c[1]), reason: c[2] ?? '' }) : null;
    }
    if (!step) return `Line ${i + 1} is not a step: ${JSON.stringify(line.slice(0, 60))} (text …, binary HEX, ping …, pong …, close CODE REASON, wait MS).`;
    steps.push(step);
    if (steps.length > SavedWorkLimits.steps) return `At most ${SavedWorkLimits.steps} steps.`;
  }
  return steps.length ? steps : 'No steps: write one a line, e.g. "text hello", "wait 500".';
}

export function formatSteps(steps: SavedStep[]): string {
  return steps.map((s) => {
    switch (s.kind) {
      case 'text':
      case 'ping':
      case 'pong': return s.text ? `${s.kind} ${s.text}` : s.kind;
      case 'binary': return `binary ${s.hex}`;
      case 'close': return `close${s.code !== null ? ` ${s.code}` : ''}${s.reason ? ` ${s.reason}` : ''}`;
      case 'wait': return `wait ${s.ms}`;
    }
  }).join('\n');
}
