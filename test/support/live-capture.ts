/**
 * Real captures for the capture reader's tests: Debian's tcpdump (pcap) or Wireshark's dumpcap
 * (pcapng) on a loopback interface, filtered to the test's ports, writing to a pipe we read as it
 * comes (-U / dumpcap flush a pipe packet by packet).
 *
 * "listening on" / "Capturing on" is printed before packets surely flow, so the capture also
 * watches a probe port: it is ready once a probe's unique bytes, sent after that line, have come
 * back through the tool. To know that the conversation under test has been captured whole, send
 * another probe after it (flush()): packets on one interface come through in order.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type CaptureTool = 'tcpdump' | 'dumpcap';

export interface LiveCapture {
  /** The file's bytes captured so far. */
  bytes(): Buffer;
  /** Sends a probe and waits until it has come through: everything before it is captured. */
  flush(): Promise<void>;
  /** Stops the tool (SIGINT: it ends the file cleanly), waits for it to exit, returns the whole file. */
  stop(): Promise<Buffer>;
}

function which(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** Why this tool cannot capture on `iface` here, or null. */
export function captureUnavailable(tool: CaptureTool, iface: string): string | null {
  if (process.platform !== 'linux') return 'the loopback capture is set up for Linux';
  if (!which(tool)) return `${tool} is not installed (apt-get install -y ${tool === 'dumpcap' ? 'tshark' : 'tcpdump'})`;
  const list = spawnSync(tool, tool === 'tcpdump' ? ['-D'] : ['-D'], { encoding: 'utf8', timeout: 15_000 });
  if (list.status !== 0) return `${tool} -D failed: ${(list.stderr || String(list.error)).trim()}`;
  for (const one of iface.split('+')) {
    if (!new RegExp(`^\\d+\\.${one}\\b`, 'm').test(list.stdout.replace(/^(\d+)\. /gm, '$1.'))) return `${tool} lists no interface "${one}"`;
  }
  return null;
}

async function waitFor(check: () => boolean, ms: number, what: string, failed: Promise<never>): Promise<void> {
  const deadline = Date.now() + ms;
  await Promise.race([failed, (async () => {
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })()]);
}

/** extraArgs: more options for the tool (e.g. tcpdump --time-stamp-precision=nano). */
export async function startLiveCapture(tool: CaptureTool, iface: string, port: number, extraArgs: string[] = []): Promise<LiveCapture> {
  const probeServer: Server = createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => probeServer.listen(0, '127.0.0.1', resolve));
  const probePort = (probeServer.address() as AddressInfo).port;
  const filter = `tcp port ${port} or tcp port ${probePort}`;
  // dumpcap takes several interfaces ("lo+any"), each with its own filter: one pcapng, one IDB each.
  const args = tool === 'tcpdump' ? ['-i', iface, '-U', '-n', '-s', '0', ...extraArgs, '-w', '-', filter]
    : [...iface.split('+').flatMap((i) => ['-i', i, '-f', filter]), '-q', ...extraArgs, '-w', '-'];
  const child: ChildProcess = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => chunks.push(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.once('error', (error) => (stderr += `\n${error.message}`));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const failed = exited.then(() => Promise.reject(new Error(`${tool} exited: ${stderr.trim()}`)));
  failed.catch(() => {});
  const bytes = () => Buffer.concat(chunks);
  let probe: Socket | null = null;
  let probeCount = 0;

  const stop = async (): Promise<Buffer> => {
    probe?.destroy();
    probeServer.close();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    }
    return bytes();
  };
  const flush = async (): Promise<void> => {
    if (!probe) {
      probe = createConnection(probePort, '127.0.0.1');
      probe.on('error', () => {});
    }
    const marker = Buffer.from(`wsinspect capture probe ${process.pid} ${Date.now()} ${++probeCount} `);
    const sending = setInterval(() => probe!.write(marker), 50);
    try {
      await waitFor(() => bytes().includes(marker), 15_000, `a probe packet to come through ${tool}`, failed);
    } finally {
      clearInterval(sending);
    }
  };
  try {
    await waitFor(() => /listening on|Capturing on/.test(stderr), 15_000, `${tool} to start capturing`, failed);
    await flush();
  } catch (error) {
    await stop();
    throw error;
  }
  return { bytes, flush, stop };
}

/** A capture of one python-websockets conversation (test/fixtures/python/capture_peer.py: neither end is ours). */
export interface PythonConversationCapture {
  /** The capture file's bytes. */
  file: Buffer;
  /** What the client printed: {"sent": [...], "received": [...], "extensions": ..., "close": [code, reason]}. */
  peer: Record<string, any>;
  /** The server's port. */
  port: number;
}

/**
 * Starts the python server, captures (tool on iface, filtered to its port) while the python client
 * runs its conversation to ws://127.0.0.1:PORT/captured, waits until every packet has come through,
 * stops both. Throws with the tool's or python's own words when something cannot run.
 */
export async function capturePythonConversation(options: { deflate: boolean; tool?: CaptureTool; iface?: string; extraArgs?: string[] }): Promise<PythonConversationCapture> {
  const { FIXTURES, parseLastJsonLine, requirePythonWebsockets, runPython, startPythonServer } = await import('../core/net/python-peer.ts');
  requirePythonWebsockets();
  const flag = options.deflate ? ['--deflate'] : [];
  const server = await startPythonServer([`${FIXTURES}capture_peer.py`, 'server', ...flag]);
  try {
    const capture = await startLiveCapture(options.tool ?? 'tcpdump', options.iface ?? 'lo', server.port, options.extraArgs ?? []);
    let file: Buffer;
    let peer: Record<string, any>;
    try {
      const run = await runPython([`${FIXTURES}capture_peer.py`, 'client', `ws://127.0.0.1:${server.port}/captured`, ...flag], 30_000);
      if (run.code !== 0) throw new Error(`the python client failed (${run.code}): ${run.stderr.trim()}`);
      peer = parseLastJsonLine(run.stdout, run.stderr);
      await capture.flush();
    } finally {
      file = await capture.stop();
    }
    return { file, peer, port: server.port };
  } finally {
    await server.stop();
  }
}
