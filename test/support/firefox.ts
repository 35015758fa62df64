/**
 * Debian's Firefox ESR (firefox-esr), headless, driven without playwright (whose Firefox support
 * needs its own patched build, which cannot be downloaded here): a node:http server on 127.0.0.1
 * serves a driver page that fetches jobs from the test ("open this WebSocket URL, send these
 * messages, close with this code"), runs each with the page's own `new WebSocket(...)` and POSTs
 * what happened back. One Firefox serves every job of a test file.
 *
 * Each run gets a fresh profile in a temporary folder with prefs in user.js that make Firefox
 * start fast and quietly (no first-run pages, telemetry, updates, safe browsing, captive-portal or
 * remote-settings traffic; the network.websocket.* prefs keep their defaults) and, if asked, a
 * cert_override.txt that trusts a certificate for given host:port pairs: what "Accept the Risk
 * and Continue" on Firefox's warning page writes. Firefox runs in a process group of its own and
 * the whole group is killed at the end.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const firefoxPath = process.env['FIREFOX_PATH'] ?? '/usr/bin/firefox-esr';

/** Why Firefox cannot run here, or null when it can. */
export function firefoxUnavailable(): string | null {
  try {
    accessSync(firefoxPath, constants.X_OK);
    return null;
  } catch {
    return `no Firefox at ${firefoxPath}: install Debian's firefox-esr (apt-get install -y firefox-esr) or set FIREFOX_PATH`;
  }
}

/** Prefs for a quiet, fast, offline headless Firefox. The network.websocket.* prefs stay at their defaults. */
const USER_PREFS: Record<string, boolean | number | string> = {
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.startup.homepage': 'about:blank',
  'browser.startup.page': 0,
  'startup.homepage_welcome_url': '',
  'startup.homepage_welcome_url.additional': '',
  'browser.aboutwelcome.enabled': false,
  'browser.newtabpage.enabled': false,
  'browser.sessionstore.resume_from_crash': false,
  'browser.tabs.warnOnClose': false,
  'browser.warnOnQuit': false,
  'toolkit.startup.max_resumed_crashes': -1,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.policy.firstRunURL': '',
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': '',
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'app.update.auto': false,
  'app.update.enabled': false,
  'app.update.checkInstallTime': false,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'extensions.autoDisableScopes': 15,
  'media.gmp-manager.updateEnabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.http.speculative-parallel-limit': 0,
  'network.proxy.type': 0,
  'services.settings.server': 'data:,#remote-settings-disabled/v1',
  'browser.ping-centre.telemetry': false,
  'browser.discovery.enabled': false,
  'security.OCSP.enabled': 0,
  'security.remote_settings.crlite_filters.enabled': false,
  'browser.cache.disk.enable': false,
  'dom.disable_open_during_load': false,
};

function userJs(extra: Record<string, boolean | number | string> = {}): string {
  return Object.entries({ ...USER_PREFS, ...extra }).map(([name, value]) => `user_pref(${JSON.stringify(name)}, ${JSON.stringify(value)});`).join('\n') + '\n';
}

/** One "trust this certificate at host:port" entry (Firefox's own exception list, cert_override.txt). */
export interface CertOverride {
  host: string;
  port: number;
  /** SHA-256 of the DER certificate, "AB:CD:…" (TlsCertificateInfo.sha256). */
  sha256: string;
}

/**
 * cert_override.txt as current Firefox reads it (security/manager/ssl/nsCertOverrideService.cpp;
 * checked with Debian's firefox-esr 153):
 * `host:port:originAttributes \t OID.2.16.840.1.101.3.4.2.1 \t fingerprint \t (bits, now ignored) \t dbKey`.
 * Firefox matches on the fingerprint; the dbKey, which only names the certificate for the
 * settings dialog, must merely be present.
 */
function certOverrideTxt(overrides: readonly CertOverride[]): string {
  const lines = overrides.map((o) => `${o.host}:${o.port}:\tOID.2.16.840.1.101.3.4.2.1\t${o.sha256}\t\tAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`);
  return ['# PSM Certificate Override Settings file', '# This is a generated file!  Do not edit.', ...lines, ''].join('\n');
}

/** What the page's script is told to do. */
export interface FirefoxJob {
  url: string;
  /** Sent one at a time, each after the previous one's echo came back (text, or binary as base64). */
  messages: Array<{ text: string } | { binary: string }>;
  close: { code: number; reason: string };
  /** Give up (close 1000 and report) after this long in the page. */
  pageTimeoutMs?: number;
}

/** What the page saw. */
export interface FirefoxResult {
  opened: boolean;
  /** ws.extensions and ws.protocol once open. */
  extensions?: string;
  protocol?: string;
  received: Array<{ text: string } | { binary: string }>;
  errorEvent?: boolean;
  close?: { code: number; reason: string; wasClean: boolean };
  /** An exception in the page's script. */
  exception?: string;
  timedOut?: boolean;
}

// The driver page. Plain browser JavaScript: nothing of the test's scope leaks in.
const DRIVER_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>WebSocket Inspector: Firefox driver</title>
<script>
const toB64 = (bytes) => { let s = ''; for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)); return btoa(s); };
const fromB64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
function run(job) {
  return new Promise((resolve) => {
    const result = { opened: false, received: [] };
    let ws;
    let settled = false;
    const finish = () => { if (!settled) { settled = true; clearTimeout(timer); resolve(result); } };
    const timer = setTimeout(() => { result.timedOut = true; try { ws.close(1000, 'page timeout'); } catch (e) {} setTimeout(finish, 500); }, job.pageTimeoutMs || 20000);
    try {
      ws = new WebSocket(job.url);
    } catch (e) {
      result.exception = String(e);
      finish();
      return;
    }
    ws.binaryType = 'arraybuffer';
    let next = 0;
    const sendNext = () => {
      if (next >= job.messages.length) { ws.close(job.close.code, job.close.reason); return; }
      const m = job.messages[next++];
      if ('binary' in m) ws.send(fromB64(m.binary)); else ws.send(m.text);
    };
    ws.onopen = () => { result.opened = true; result.extensions = ws.extensions; result.protocol = ws.protocol; sendNext(); };
    ws.onmessage = (e) => { result.received.push(typeof e.data === 'string' ? { text: e.data } : { binary: toB64(new Uint8Array(e.data)) }); sendNext(); };
    ws.onerror = () => { result.errorEvent = true; };
    ws.onclose = (e) => { result.close = { code: e.code, reason: e.reason, wasClean: e.wasClean }; finish(); };
  });
}
(async () => {
  for (;;) {
    let job;
    try {
      job = await (await fetch('/next', { cache: 'no-store' })).json();
    } catch (e) {
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    if (job.stop) break;
    if (job.wait) continue;
    let result;
    try { result = await run(job); } catch (e) { result = { opened: false, received: [], exception: String(e) }; }
    await fetch('/result', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: job.id, result }) });
  }
})();
</script>`;

export interface Firefox {
  /** Runs one job in the page; rejects after timeoutMs with what Firefox printed. */
  run(job: FirefoxJob, timeoutMs?: number): Promise<FirefoxResult>;
  /** The driver page's origin, e.g. "http://127.0.0.1:40123" (the Origin of the page's WebSockets). */
  origin: string;
  /** Firefox's stdout and stderr so far. */
  output(): string;
  /** Kills Firefox's process group, closes the page server, removes the profile. Never throws. */
  close(): Promise<void>;
}

/** Starts Firefox on the driver page and waits (bounded) until the page asks for its first job. */
export async function startFirefox(options: { certOverrides?: CertOverride[]; startTimeoutMs?: number; prefs?: Record<string, boolean | number | string> } = {}): Promise<Firefox> {
  const dir = mkdtempSync(join(tmpdir(), 'wsi-firefox-'));
  const profile = join(dir, 'profile');
  const home = join(dir, 'home');
  mkdirSync(profile);
  mkdirSync(home);
  // Extra prefs (e.g. a proxy) on top of the quiet defaults.
  writeFileSync(join(profile, 'user.js'), userJs(options.prefs));
  if (options.certOverrides?.length) writeFileSync(join(profile, 'cert_override.txt'), certOverrideTxt(options.certOverrides));

  let jobId = 0;
  const queued: Array<{ id: number } & FirefoxJob> = [];
  let waiting: ServerResponse | null = null;
  let waitingTimer: NodeJS.Timeout | undefined;
  const results = new Map<number, (result: FirefoxResult) => void>();
  let asked!: () => void;
  const firstAsk = new Promise<void>((resolve) => (asked = resolve));
  let stopping = false;
  const sockets = new Set<Socket>();

  const answer = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const dispatch = () => {
    if (!waiting) return;
    const res = waiting;
    if (stopping) {
      waiting = null;
      clearTimeout(waitingTimer);
      answer(res, { stop: true });
    } else if (queued.length > 0) {
      waiting = null;
      clearTimeout(waitingTimer);
      answer(res, queued.shift());
    }
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(DRIVER_PAGE);
    } else if (req.method === 'GET' && req.url === '/next') {
      asked();
      if (waiting) answer(waiting, { wait: true });
      clearTimeout(waitingTimer);
      waiting = res;
      // A long poll, answered "wait" after a while so no request hangs for ever.
      waitingTimer = setTimeout(() => {
        if (waiting === res) {
          waiting = null;
          answer(res, { wait: true });
        }
      }, 10_000);
      dispatch();
    } else if (req.method === 'POST' && req.url === '/result') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        res.writeHead(204).end();
        try {
          const { id, result } = JSON.parse(body) as { id: number; result: FirefoxResult };
          results.get(id)?.(result);
        } catch {
          // a malformed report is left to time out, with Firefox's output in the error
        }
      });
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let output = '';
  const child: ChildProcess = spawn(firefoxPath, ['--headless', '--no-remote', '--profile', profile, `${origin}/`], {
    detached: true, // its own process group: content processes die with it
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      HOME: home,
      XDG_CACHE_HOME: join(home, '.cache'),
      XDG_CONFIG_HOME: join(home, '.config'),
      MOZ_HEADLESS: '1',
      MOZ_CRASHREPORTER_DISABLE: '1',
      MOZ_DISABLE_AUTO_SAFE_MODE: '1',
    },
  });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (output += `\nspawn failed: ${error.message}`));

  const close = async () => {
    stopping = true;
    dispatch();
    try {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    clearTimeout(waitingTimer);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };

  const startTimeoutMs = options.startTimeoutMs ?? 45_000;
  let startTimer: NodeJS.Timeout | undefined;
  const started = await Promise.race([
    firstAsk.then(() => true),
    exited.then(() => false),
    new Promise<false>((resolve) => (startTimer = setTimeout(() => resolve(false), startTimeoutMs))),
  ]);
  clearTimeout(startTimer);
  if (!started) {
    const printed = output;
    await close();
    throw new Error(`Firefox did not load the driver page within ${startTimeoutMs} ms. It printed:\n${printed}`);
  }

  return {
    origin,
    output: () => output,
    close,
    run(job, timeoutMs = 30_000) {
      const id = ++jobId;
      return new Promise<FirefoxResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          results.delete(id);
          reject(new Error(`Firefox did not report job ${id} (${job.url}) within ${timeoutMs} ms. It printed:\n${output}`));
        }, timeoutMs);
        results.set(id, (result) => {
          clearTimeout(timer);
          results.delete(id);
          resolve(result);
        });
        queued.push({ id, ...job });
        dispatch();
      });
    },
  };
}
