/**
 * Shape checks for every request that comes from a renderer (IPC or the web bridge):
 * nothing from the renderer reaches the service unchecked. No electron import.
 */
import { appNames, type AppName, type ConnectClientRequest, type SendRequest, type StartServerRequest } from '../shared/inspector-api.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isNumberArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((n) => Number.isInteger(n));

export function validateStartServer(v: unknown): StartServerRequest {
  if (!isObject(v)) throw new Error('startServer expects an object');
  const out: StartServerRequest = {};
  if (v['host'] !== undefined) {
    if (typeof v['host'] !== 'string') throw new Error('host must be a string');
    out.host = v['host'];
  }
  if (v['port'] !== undefined) {
    if (!Number.isInteger(v['port'])) throw new Error('port must be a whole number');
    out.port = v['port'] as number;
  }
  if (v['app'] !== undefined) out.app = validateApp(v['app']);
  return out;
}

export function validateApp(v: unknown): AppName {
  if (typeof v !== 'string' || !appNames.includes(v as AppName)) throw new Error(`app must be one of ${appNames.join(', ')}`);
  return v as AppName;
}

export function validateConnect(v: unknown): ConnectClientRequest {
  if (!isObject(v) || typeof v['url'] !== 'string') throw new Error('connectClient expects { url: string }');
  if (v['subprotocols'] !== undefined && !isStringArray(v['subprotocols'])) throw new Error('subprotocols must be strings');
  if (v['headers'] !== undefined && !isStringArray(v['headers'])) throw new Error('headers must be strings');
  return v as unknown as ConnectClientRequest;
}

export function validateSend(v: unknown): SendRequest {
  if (!isObject(v) || typeof v['connectionId'] !== 'string') throw new Error('send expects { connectionId, kind }');
  const kind = v['kind'];
  const optionalString = (name: string) => v[name] === undefined || typeof v[name] === 'string';
  if (v['fragments'] !== undefined && !isNumberArray(v['fragments'])) throw new Error('fragments must be whole numbers');
  if (kind === 'text' && typeof v['text'] === 'string') return v as unknown as SendRequest;
  if (kind === 'binary' && typeof v['hex'] === 'string') return v as unknown as SendRequest;
  if ((kind === 'ping' || kind === 'pong') && optionalString('text')) return v as unknown as SendRequest;
  if (kind === 'close' && optionalString('reason') && (v['code'] === undefined || v['code'] === null || Number.isInteger(v['code']))) {
    return v as unknown as SendRequest;
  }
  throw new Error(`send: bad request for kind ${String(kind)}`);
}

