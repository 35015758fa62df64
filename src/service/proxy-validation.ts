/**
 * Shape checks for Proxy mode's requests from a renderer (issue 12), as validation.ts does for
 * the rest: nothing reaches the service unchecked. No electron import.
 */
import type { ProxyCaAction, StartProxyRequest } from '../shared/proxy-api.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Proxy mode (issue 12): URLs as bounded strings (the service parses them), switches as booleans. */
export function validateStartProxy(v: unknown): StartProxyRequest {
  if (!isObject(v)) throw new Error('startProxy expects an object');
  const text = (key: string, max = 2048): string | undefined => {
    const value = v[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length > max) throw new Error(`${key} must be a string of at most ${max} characters`);
    return value;
  };
  const flag = (key: string): boolean | undefined => {
    const value = v[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw new Error(`${key} must be true or false`);
    return value;
  };
  const kind = v['kind'];
  if (kind !== undefined && kind !== 'reverse' && kind !== 'forward') throw new Error('kind is "reverse" or "forward"');
  const listen = text('listen');
  const target = text('target');
  if (!listen?.trim()) throw new Error(kind === 'forward' ? 'The forward proxy needs an address, e.g. http://127.0.0.1:8080' : 'The proxy needs a listen URL, e.g. ws://127.0.0.1:9002/');
  if (kind !== 'forward' && !target?.trim()) throw new Error('The proxy needs a target URL, e.g. ws://127.0.0.1:9001/ or wss://example.com/socket');
  const out: StartProxyRequest = { listen, ...(target !== undefined ? { target } : {}), ...(kind !== undefined ? { kind } : {}) };
  const host = text('host', 300);
  // A header value is written as given: §4.1 forbids nothing here, but CR and LF would end it (RFC 9110 §5.5).
  if (host !== undefined && host.trim() !== '') {
    if (/[\r\n\0]/.test(host) || hostProblemForHeader(host)) throw new Error(`Host header "${host.slice(0, 60)}" is not a host[:port]`);
    out.host = host.trim();
  }
  if (v['origin'] === null) out.origin = null;
  else {
    const origin = text('origin', 2048);
    if (origin !== undefined) {
      if (/[\r\n\0]/.test(origin)) throw new Error('Origin cannot contain line breaks');
      out.origin = origin.trim();
    }
  }
  for (const key of ['clientDeflate', 'upstreamDeflate', 'insecure', 'interceptTls'] as const) {
    const value = flag(key);
    if (value !== undefined) out[key] = value;
  }
  if (out.interceptTls && kind !== 'forward') throw new Error('TLS interception is for the forward proxy (a reverse proxy terminates TLS itself: listen on wss://)');
  // A wss:// listener's certificate and key files: both or neither, file names and nothing else.
  for (const key of ['certPath', 'keyPath'] as const) {
    const path = text(key, 4096);
    if (path === undefined || path.trim() === '') continue;
    if (/[\0\r\n]/.test(path)) throw new Error(`${key === 'certPath' ? 'The certificate' : 'The key'} file name cannot contain NUL or line breaks`);
    out[key] = path.trim();
  }
  if ((out.certPath === undefined) !== (out.keyPath === undefined)) throw new Error('Give both the certificate file and its key file, or neither (then the generated localhost certificate is used)');
  const token = text('confirmToken', 200);
  if (token !== undefined) out.confirmToken = token;
  return out;
}

/** host[:port] as a Host header carries it (RFC 9110 §7.2): a name or an IP literal, and an optional port. */
function hostProblemForHeader(value: string): boolean {
  return !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(value.trim());
}

const CA_ACTIONS: readonly ProxyCaAction[] = ['create', 'regenerate', 'remove'];

/** The proxy CA action: one of three words. */
export function validateProxyCaAction(v: unknown): ProxyCaAction {
  if (typeof v !== 'string' || !(CA_ACTIONS as readonly string[]).includes(v)) throw new Error('proxyCa expects "create", "regenerate" or "remove"');
  return v as ProxyCaAction;
}
