/**
 * Shape checks for every request that comes from a renderer (IPC or the web bridge):
 * nothing from the renderer reaches the service unchecked. No electron import.
 */
import {
  appNames, type AppName, type Breakpoint, type ConnectClientRequest, type CraftRequest, type FrameFields, type SendRequest, type StartServerRequest,
  type StepAction, type ViolationPolicy, type ConformanceRequest, exportFormats, type ExportFormat, type ExportRequest,
} from '../shared/inspector-api.ts';
import { ByteStepLimits, maxByteStepHexChars, type ByteStepOptions } from '../core/byte-step-types.ts';
import { checkSequence, SavedWorkLimits, type SavedStep } from '../shared/saved-work.ts';
import { checkHandshakeOptions, parseHeaderLines, subprotocolProblem } from '../core/http-tokens.ts';
import { hostProblem, portProblem, unbracket } from '../core/net/listen-address.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isNumberArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((n) => Number.isInteger(n));

export function validateStartServer(v: unknown): StartServerRequest {
  if (!isObject(v)) throw new Error('startServer expects an object');
  const out: StartServerRequest = {};
  if (v['host'] !== undefined) {
    if (typeof v['host'] !== 'string') throw new Error('host must be a string');
    // An IP literal or a hostname (listen-address.ts); empty means the default host.
    const problem = v['host'].trim() === '' ? null : hostProblem(unbracket(v['host'].trim()));
    if (problem) throw new Error(problem);
    out.host = v['host'];
  }
  if (v['port'] !== undefined) {
    if (!Number.isInteger(v['port'])) throw new Error('port must be a whole number');
    const problem = portProblem(v['port'] as number);
    if (problem) throw new Error(problem);
    out.port = v['port'] as number;
  }
  if (v['app'] !== undefined) out.app = validateApp(v['app']);
  if (v['allowedOrigins'] !== undefined) {
    if (!isStringArray(v['allowedOrigins'])) throw new Error('allowedOrigins must be an array of strings');
    out.allowedOrigins = [...v['allowedOrigins']];
  }
  if (v['policy'] !== undefined) out.policy = validatePolicyName(v['policy']);
  const limits = serverLimitsProblem(v) ?? serverSubprotocolsProblem(v['subprotocols']);
  if (limits) throw new Error(limits);
  if (v['subprotocols'] !== undefined) out.subprotocols = [...(v['subprotocols'] as string[])];
  if (v['maxConnections'] !== undefined) out.maxConnections = v['maxConnections'] as number;
  if (v['idleTimeoutMs'] !== undefined) out.idleTimeoutMs = v['idleTimeoutMs'] as number;
  if (v['maxMessageSize'] !== undefined) out.maxMessageSize = v['maxMessageSize'] as number;
  if (v['deflate'] !== undefined) out.deflate = validateDeflate(v['deflate']);
  if (v['confirmToken'] !== undefined) out.confirmToken = validateConfirmToken(v['confirmToken']);
  // wss:// (RFC 6455 §10.6): on or off, and the certificate and key files, both or neither.
  if (v['tls'] !== undefined) {
    if (typeof v['tls'] !== 'boolean') throw new Error('tls must be true or false');
    out.tls = v['tls'];
  }
  if ((v['certPath'] === undefined) !== (v['keyPath'] === undefined)) throw new Error('certPath and keyPath go together: the certificate file and its key file');
  if (v['certPath'] !== undefined) out.certPath = validateFileName(v['certPath'], 'certPath');
  if (v['keyPath'] !== undefined) out.keyPath = validateFileName(v['keyPath'], 'keyPath');
  return out;
}

/** A file name the service will read: a non-empty string without NUL, of a sane length. */
function validateFileName(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > 4096 || v.includes('\0')) throw new Error(`${name} must be a file name`);
  return v;
}

/** At most this many CA entries, each a file name or PEM text of at most 1 MiB. */
const maxCaEntries = 32;
const maxCaEntryChars = 1024 * 1024;

/** The connection cap and the idle timeout: absent (off), or a whole number in these ranges (the CLI's too). */
const serverLimits = { maxConnections: [1, 1_000_000], idleTimeoutMs: [1, 86_400_000], maxMessageSize: [1, 2 ** 31] } as const;

/** What is wrong with a start request's maxConnections or idleTimeoutMs, in words; null if nothing. */
/** At most this many subprotocols for the embedded server (a real server speaks a handful). */
export const MAX_SERVER_SUBPROTOCOLS = 32;

/** The embedded server's subprotocols: a list of tokens (RFC 6455 §4.1 item 10, §11.3.4), or absent. */
export function serverSubprotocolsProblem(v: unknown): string | null {
  if (v === undefined) return null;
  if (!isStringArray(v)) return 'subprotocols must be a list of names';
  if (v.length > MAX_SERVER_SUBPROTOCOLS) return `At most ${MAX_SERVER_SUBPROTOCOLS} subprotocols (got ${v.length}).`;
  for (const name of v) {
    const problem = subprotocolProblem(name);
    if (problem) return problem;
  }
  return null;
}

export function serverLimitsProblem(v: { maxConnections?: unknown; idleTimeoutMs?: unknown; maxMessageSize?: unknown }): string | null {
  for (const [name, [min, max]] of Object.entries(serverLimits)) {
    const value = v[name as keyof typeof serverLimits];
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= min && (value as number) <= max)) {
      return `${name} must be a whole number from ${min} to ${max}, or left out for none (got ${JSON.stringify(value) ?? String(value)}).`;
    }
  }
  return null;
}

function validateConfirmToken(v: unknown): string {
  if (typeof v !== 'string' || v.length > 200) throw new Error('confirmToken must be the token of a confirmation prompt');
  return v;
}

export function validateApp(v: unknown): AppName {
  if (typeof v !== 'string' || !appNames.includes(v as AppName)) throw new Error(`app must be one of ${appNames.join(', ')}`);
  return v as AppName;
}

function validatePolicyName(v: unknown): ViolationPolicy {
  if (v !== 'strict' && v !== 'observe') throw new Error('policy is strict or observe');
  return v;
}

/**
 * Subprotocols must be tokens and header lines "Name: value" with a token name and no CR, LF or
 * NUL in the value (http-tokens.ts: RFC 6455 §4.1 item 10, RFC 9110 §5.1 and §5.5), so a request
 * cannot smuggle bytes after the handshake head. Blank header lines are skipped, as the service does.
 */
/** permessage-deflate on (true) or off (false); nothing else (RFC 7692 options stay with the engine's defaults). */
function validateDeflate(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error('deflate must be true or false');
  return v;
}

export function validateConnect(v: unknown): ConnectClientRequest {
  if (!isObject(v) || typeof v['url'] !== 'string') throw new Error('connectClient expects { url: string }');
  const out: ConnectClientRequest = { url: v['url'] };
  if (v['policy'] !== undefined) out.policy = validatePolicyName(v['policy']);
  if (v['deflate'] !== undefined) out.deflate = validateDeflate(v['deflate']);
  if (v['subprotocols'] !== undefined) {
    if (!isStringArray(v['subprotocols'])) throw new Error('subprotocols must be strings');
    out.subprotocols = [...v['subprotocols']];
  }
  if (v['headers'] !== undefined) {
    if (!isStringArray(v['headers'])) throw new Error('headers must be strings');
    out.headers = [...v['headers']];
  }
  checkHandshakeOptions({ subprotocols: out.subprotocols, headers: parseHeaderLines(out.headers ?? []) });
  // wss://: the service reads and parses each CA (file name or PEM text) before it connects.
  if (v['ca'] !== undefined) {
    const ca = v['ca'];
    if (!isStringArray(ca) || ca.length > maxCaEntries || ca.some((c) => c.trim() === '' || c.length > maxCaEntryChars || c.includes('\0'))) {
      throw new Error(`ca must be a list of at most ${maxCaEntries} file names or PEM certificates (each at most 1 MiB)`);
    }
    out.ca = [...ca];
  }
  if (v['insecure'] !== undefined) {
    if (typeof v['insecure'] !== 'boolean') throw new Error('insecure must be true or false');
    out.insecure = v['insecure'];
  }
  return out;
}

export function validateSend(v: unknown): SendRequest {
  if (!isObject(v) || typeof v['connectionId'] !== 'string') throw new Error('send expects { connectionId, kind }');
  const kind = v['kind'];
  const optionalString = (name: string) => v[name] === undefined || typeof v[name] === 'string';
  if (v['fragments'] !== undefined && !isNumberArray(v['fragments'])) throw new Error('fragments must be whole numbers');
  if (kind === 'text' && typeof v['text'] === 'string') return v as unknown as SendRequest;
  if (kind === 'binary' && typeof v['hex'] === 'string') return v as unknown as SendRequest;
  if ((kind === 'ping' || kind === 'pong') && optionalString('text')) return v as unknown as SendRequest;
  if (kind === 'close' && optionalString('reason') && (v['code'] === undefined || v['code'] === null || Number.isInteger(v['code']))
    && (v['anyCode'] === undefined || typeof v['anyCode'] === 'boolean')) {
    return v as unknown as SendRequest;
  }
  throw new Error(`send: bad request for kind ${String(kind)}`);
}


// ---------------------------------------------------------------- step mode, crafting, faults

function connectionId(v: Record<string, unknown>): string {
  if (typeof v['connectionId'] !== 'string') throw new Error('connectionId must be a string');
  return v['connectionId'];
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (!isObject(v)) throw new Error(`${what} expects an object`);
  return v;
}

export function validateFrameFields(v: unknown): FrameFields {
  const f = object(v, 'frame');
  for (const name of ['fin', 'rsv1', 'rsv2', 'rsv3', 'masked'] as const) {
    if (typeof f[name] !== 'boolean') throw new Error(`frame.${name} must be true or false`);
  }
  if (!Number.isInteger(f['opcode']) || (f['opcode'] as number) < 0 || (f['opcode'] as number) > 15) throw new Error('frame.opcode must be 0-15');
  if (typeof f['payloadHex'] !== 'string') throw new Error('frame.payloadHex must be a string');
  if (f['maskKeyHex'] !== undefined && typeof f['maskKeyHex'] !== 'string') throw new Error('frame.maskKeyHex must be a string');
  if (f['lengthEncoding'] !== undefined && !['minimal', '7-bit', '16-bit', '64-bit'].includes(f['lengthEncoding'] as string)) throw new Error('frame.lengthEncoding is minimal, 7-bit, 16-bit or 64-bit');
  if (f['declaredLength'] !== undefined && (!Number.isInteger(f['declaredLength']) || (f['declaredLength'] as number) < 0)) throw new Error('frame.declaredLength must be a whole number');
  if (f['compress'] !== undefined && typeof f['compress'] !== 'boolean') throw new Error('frame.compress must be true or false');
  return f as unknown as FrameFields;
}

export function validateStepMode(v: unknown): { connectionId: string; on: boolean } {
  const o = object(v, 'setStepMode');
  if (typeof o['on'] !== 'boolean') throw new Error('on must be true or false');
  return { connectionId: connectionId(o), on: o['on'] };
}

export function validateBreakpoints(v: unknown): { connectionId: string; breakpoints: Breakpoint[] } {
  const o = object(v, 'setBreakpoints');
  if (!Array.isArray(o['breakpoints'])) throw new Error('breakpoints must be a list');
  const breakpoints = o['breakpoints'].map((b: unknown, i: number) => {
    const bp = object(b, `breakpoint ${i}`);
    if (typeof bp['id'] !== 'string') throw new Error(`breakpoint ${i}: id must be a string`);
    if (!['in', 'out', 'both'].includes(bp['direction'] as string)) throw new Error(`breakpoint ${i}: direction is in, out or both`);
    if (!isNumberArray(bp['opcodes'])) throw new Error(`breakpoint ${i}: opcodes must be whole numbers`);
    if (typeof bp['enabled'] !== 'boolean') throw new Error(`breakpoint ${i}: enabled must be true or false`);
    for (const k of ['minSize', 'maxSize'] as const) if (bp[k] !== undefined && !Number.isInteger(bp[k])) throw new Error(`breakpoint ${i}: ${k} must be a whole number`);
    if (bp['payloadMatch'] !== undefined && typeof bp['payloadMatch'] !== 'string') throw new Error(`breakpoint ${i}: payloadMatch must be a string`);
    return bp as unknown as Breakpoint;
  });
  return { connectionId: connectionId(o), breakpoints };
}

const stepActions: StepAction[] = ['step-in', 'step-out', 'step', 'continue', 'resume'];
export function validateStepControl(v: unknown): { connectionId: string; action: StepAction } {
  const o = object(v, 'stepControl');
  if (!stepActions.includes(o['action'] as StepAction)) throw new Error(`action is one of ${stepActions.join(', ')}`);
  return { connectionId: connectionId(o), action: o['action'] as StepAction };
}

export function validateHeld(v: unknown, withFrame: boolean): { connectionId: string; holdId: number; frame?: FrameFields } {
  const o = object(v, 'held frame');
  if (!Number.isInteger(o['holdId'])) throw new Error('holdId must be a whole number');
  return { connectionId: connectionId(o), holdId: o['holdId'] as number, ...(withFrame ? { frame: validateFrameFields(o['frame']) } : {}) };
}

export function validatePolicy(v: unknown): { connectionId: string; policy: ViolationPolicy } {
  const o = object(v, 'setPolicy');
  if (o['policy'] !== 'strict' && o['policy'] !== 'observe') throw new Error('policy is strict or observe');
  return { connectionId: connectionId(o), policy: o['policy'] };
}

export function validateCraft(v: unknown): CraftRequest {
  const o = object(v, 'craft');
  const frame = validateFrameFields(o['frame']);
  if (o['writes'] !== undefined && !isNumberArray(o['writes'])) throw new Error('writes must be whole numbers');
  if (o['delayMs'] !== undefined && (!Number.isInteger(o['delayMs']) || (o['delayMs'] as number) < 0 || (o['delayMs'] as number) > 60_000)) throw new Error('delayMs must be 0-60000');
  return { connectionId: connectionId(o), frame, ...(o['writes'] ? { writes: o['writes'] as number[] } : {}), ...(o['delayMs'] !== undefined ? { delayMs: o['delayMs'] as number } : {}) };
}

export function validateFirePreset(v: unknown): { connectionId: string; presetId: string } {
  const o = object(v, 'firePreset');
  if (typeof o['presetId'] !== 'string') throw new Error('presetId must be a string');
  return { connectionId: connectionId(o), presetId: o['presetId'] };
}

/** byteStepStart: { hex, receiverRole, deflate? } (deflate, optional, came later: older callers leave it out). */
export function validateByteStepStart(v: unknown): { hex: string; receiverRole: 'server' | 'client'; options: ByteStepOptions } {
  const o = object(v, 'byteStepStart');
  if (typeof o['hex'] !== 'string') throw new Error('hex must be a string');
  if (o['hex'].length > maxByteStepHexChars) throw new Error(`hex must be at most ${maxByteStepHexChars} characters: at most ${ByteStepLimits.maxInput} bytes (1 MiB) can be stepped through`);
  if (o['receiverRole'] !== 'server' && o['receiverRole'] !== 'client') throw new Error('receiverRole is server or client');
  if (o['deflate'] !== undefined && typeof o['deflate'] !== 'boolean') throw new Error('deflate must be true or false (permessage-deflate agreed, with its default parameters)');
  return { hex: o['hex'], receiverRole: o['receiverRole'], options: o['deflate'] === undefined ? {} : { deflate: o['deflate'] } };
}

export function validateCompressPayload(v: unknown): { connectionId: string; payloadHex: string } {
  const o = object(v, 'compressPayload');
  if (typeof o['payloadHex'] !== 'string') throw new Error('payloadHex must be a string');
  return { connectionId: connectionId(o), payloadHex: o['payloadHex'] };
}

export function validateByteStepFeed(v: unknown): { sessionId: number; count: number } {
  const o = object(v, 'byteStepFeed');
  if (!Number.isInteger(o['sessionId']) || !Number.isInteger(o['count'])) throw new Error('sessionId and count must be whole numbers');
  return { sessionId: o['sessionId'] as number, count: o['count'] as number };
}

export function validateConformance(v: unknown): ConformanceRequest {
  const o = object(v, 'runConformance');
  if (o['cases'] !== undefined && !isStringArray(o['cases'])) throw new Error('cases must be a list of case ids');
  const cases = o['cases'] ? { cases: o['cases'] as string[] } : {};
  if (o['mode'] === 'server' && typeof o['url'] === 'string') return { mode: 'server', url: o['url'], ...cases };
  if (o['mode'] === 'client' && typeof o['launch'] === 'string') {
    return { mode: 'client', launch: o['launch'], ...cases, ...(o['confirmToken'] !== undefined ? { confirmToken: validateConfirmToken(o['confirmToken']) } : {}) };
  }
  if (o['mode'] === 'own-client') return { mode: 'own-client', ...cases };
  throw new Error('runConformance expects { mode: "server", url } or { mode: "client", launch } or { mode: "own-client" }');
}

/** The Record button's per-frame cap: payload bytes kept per frame, 0 (headers only) to 1 GiB. */
export const MAX_RECORD_CAP = 1024 * 1024 * 1024;
export function validateRecordCap(v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > MAX_RECORD_CAP) throw new Error(`The per-frame cap is a whole number of bytes from 0 to ${MAX_RECORD_CAP}.`);
  return v as number;
}

export function validateExport(v: unknown): ExportRequest {
  if (!isObject(v) || typeof v['format'] !== 'string' || !(exportFormats as readonly string[]).includes(v['format'])) throw new Error('exportSession expects { format: "pcapng" | "har" | "json", connectionIds? }');
  const frames = v['frames'];
  if (frames !== undefined) {
    if (!isObject(frames) || typeof frames['connectionId'] !== 'string' || frames['connectionId'].length > 200 || !isNumberArray(frames['frameIds']) || frames['frameIds'].length === 0 || frames['frameIds'].length > 1_000_000) {
      throw new Error('frames must be { connectionId, frameIds: [whole numbers] }');
    }
    return { format: v['format'] as ExportFormat, frames: { connectionId: frames['connectionId'], frameIds: [...frames['frameIds']] } };
  }
  const ids = v['connectionIds'];
  if (ids === undefined) return { format: v['format'] as ExportFormat };
  if (!isStringArray(ids) || ids.length === 0 || ids.length > 10_000 || ids.some((id) => id.length > 200)) throw new Error('connectionIds must be a non-empty list of connection ids');
  return { format: v['format'] as ExportFormat, connectionIds: [...ids] };
}

/** All the waits of one run together: the call answers when the sequence is done. */
export const MAX_SEQUENCE_WAIT_MS = 5 * 60_000;
export function validateRunSequence(v: unknown): { connectionId: string; steps: SavedStep[] } {
  if (!isObject(v) || typeof v['connectionId'] !== 'string' || !Array.isArray(v['steps'])) throw new Error('runSequence expects { connectionId, steps }');
  const sequence = checkSequence({ name: 'run', steps: v['steps'] });
  if (!sequence) throw new Error(`runSequence: the steps are not valid (1 to ${SavedWorkLimits.steps} of text, binary, ping, pong, close, wait)`);
  const waits = sequence.steps.reduce((sum, s) => sum + (s.kind === 'wait' ? s.ms : 0), 0);
  if (waits > MAX_SEQUENCE_WAIT_MS) throw new Error(`runSequence: the waits add up to ${waits} ms, over ${MAX_SEQUENCE_WAIT_MS} ms`);
  return { connectionId: v['connectionId'], steps: sequence.steps };
}
