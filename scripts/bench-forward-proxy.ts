/**
 * npm run bench:forward-proxy — the forward proxy (wsinspect proxy --forward) carrying bulk bytes.
 *
 * The proxy runs in a process of its own (`node bin/wsinspect.mjs proxy --forward --listen
 * 127.0.0.1:0 --trace none`), so its resident memory (VmRSS from /proc, every FP_SAMPLE_MS) is its
 * alone. The origin (node:http, or a raw TCP server for the tunnel) and the client run here:
 *
 *   get-direct   GET of FP_TOTAL_MIB from the origin, no proxy (the reference)
 *   get-proxied  the same GET through the proxy (absolute-form; the body streams through it)
 *   tunnel       CONNECT, then FP_TOTAL_MIB from the origin through the tunnel (passed through)
 *   slow-reader  a proxied GET whose client reads nothing for FP_PAUSE_MS, then everything:
 *                the proxy must not buffer the body (backpressure through node's pipe)
 *
 * Figures: MB/s for each transfer, and the proxy's RSS growth over its idle baseline (peak minus
 * baseline) in the slow-reader pause; target: under 64 MiB whatever FP_TOTAL_MIB is. Written to
 * forward-proxy-results.json and to the "Forward proxy" section of BENCHMARKS.md.
 *
 * Environment:
 *   FP_TOTAL_MIB=256   body size per transfer
 *   FP_PAUSE_MS=3000   how long the slow reader reads nothing
 *   FP_SAMPLE_MS=20
 *   FP_OUT_DIR=dir     where the results go (default: the repository root)
 *   FP_NO_MD=1         do not write BENCHMARKS.md
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envNumber, machineInfo, repoRoot, writeSection, type Machine } from './bench.ts';

const MiB = 1024 * 1024;
export const TARGET_GROWTH_MIB = 64;

export interface ForwardProxyResults {
  machine: Machine;
  totalMiB: number;
  pauseMs: number;
  mbPerSecond: { getDirect: number; getProxied: number; tunnel: number };
  baselineRssMiB: number;
  /** Proxy RSS peak minus baseline while the slow reader read nothing. */
  slowReaderGrowthMiB: number;
  /** Bytes the slow reader got in the end (must be the whole body). */
  slowReaderBytes: number;
  peakRssMiB: number;
}

const chunk = Buffer.alloc(256 * 1024, 0x61);

/** Writes `total` bytes with backpressure. */
function writeBody(out: NodeJS.WritableStream & { write(b: Buffer): boolean }, total: number, done: () => void): void {
  let left = total;
  const more = () => {
    while (left > 0) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (!out.write(piece)) return void out.once('drain', more);
    }
    done();
  };
  more();
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function get(port: number, path: string, onResponse?: (res: IncomingMessage) => void): Promise<{ bytes: number; seconds: number }> {
  const start = performance.now();
  return new Promise((resolveGet, reject) => {
    httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolveGet({ bytes, seconds: (performance.now() - start) / 1000 }));
      onResponse?.(res);
    }).on('error', reject).end();
  });
}

async function main(): Promise<void> {
  const totalMiB = envNumber('FP_TOTAL_MIB', 256);
  const total = Math.round(totalMiB * MiB);
  const pauseMs = envNumber('FP_PAUSE_MS', 3000);
  const sampleMs = envNumber('FP_SAMPLE_MS', 20);
  const outDir = resolve(process.env['FP_OUT_DIR'] ?? repoRoot);
  const loadStart = (await import('node:os')).loadavg()[0]!;

  const origin = createHttpServer();
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const originPort = (origin.address() as AddressInfo).port;
  const raw = createNetServer((s) => writeBody(s, total, () => s.end()));
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  const rawPort = (raw.address() as AddressInfo).port;

  const child = spawn(process.execPath, [join(repoRoot, 'bin/wsinspect.mjs'), 'proxy', '--forward', '--listen', '127.0.0.1:0', '--trace', 'none'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let announced = '';
  child.stdout!.on('data', (d: Buffer) => (announced += d));
  const started = Date.now();
  while (!/http:\/\/127\.0\.0\.1:(\d+)/.test(announced)) {
    if (Date.now() - started > 15_000 || child.exitCode !== null) throw new Error(`the proxy did not start: ${announced}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const proxyPort = Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(announced)![1]);
  const pid = child.pid!;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), sampleMs);
  const mbps = (r: { bytes: number; seconds: number }) => Math.round(r.bytes / MiB / r.seconds);
  try {
    // Warm-up (JIT, first connections), then the baseline; the slow reader runs first so that
    // its growth is its own, not garbage left by the bulk transfers.
    origin.on('request', (req, res) => {
      const size = req.url === '/small' ? MiB : total;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
      writeBody(res, size, () => res.end());
    });
    for (let i = 0; i < 3; i++) await get(proxyPort, `http://127.0.0.1:${originPort}/small`);
    await new Promise((r) => setTimeout(r, 500));
    const baseline = rssMiB(pid);
    let pausePeak = 0;
    const slow = await get(proxyPort, `http://127.0.0.1:${originPort}/`, (res) => {
      res.pause();
      const watch = setInterval(() => (pausePeak = Math.max(pausePeak, rssMiB(pid))), sampleMs);
      setTimeout(() => {
        clearInterval(watch);
        res.resume();
      }, pauseMs);
    });

    const direct = await get(originPort, '/');
    const proxied = await get(proxyPort, `http://127.0.0.1:${originPort}/`);
    if (proxied.bytes !== total || direct.bytes !== total) throw new Error(`short transfer: ${direct.bytes} / ${proxied.bytes} of ${total}`);

    const tunnelStart = performance.now();
    const socket: Socket = connect({ host: '127.0.0.1', port: proxyPort });
    await once(socket, 'connect');
    // The client speaks first (as TLS does): a silent client is waited for 1 s (tunnel-sniffer.ts).
    socket.write(`CONNECT 127.0.0.1:${rawPort} HTTP/1.1\r\n\r\nSSH-2.0-bench\r\n`);
    let tunnelBytes = -'HTTP/1.1 200 Connection Established\r\n\r\n'.length;
    socket.on('data', (d: Buffer) => (tunnelBytes += d.length));
    await once(socket, 'end');
    socket.destroy();
    const tunnel = { bytes: tunnelBytes, seconds: (performance.now() - tunnelStart) / 1000 };
    if (tunnelBytes !== total) throw new Error(`the tunnel carried ${tunnelBytes} of ${total} bytes`);

    const results: ForwardProxyResults = {
      machine: { ...machineInfo(), loadAverage: { start: loadStart, end: (await import('node:os')).loadavg()[0]! } },
      totalMiB, pauseMs,
      mbPerSecond: { getDirect: mbps(direct), getProxied: mbps(proxied), tunnel: mbps(tunnel) },
      baselineRssMiB: Math.round(baseline),
      slowReaderGrowthMiB: Math.round(Math.max(0, pausePeak - baseline)),
      slowReaderBytes: slow.bytes,
      peakRssMiB: Math.round(peak),
    };
    writeFileSync(join(outDir, 'forward-proxy-results.json'), JSON.stringify(results, null, 2) + '\n');
    if (!process.env['FP_NO_MD']) writeSection(join(outDir, 'BENCHMARKS.md'), 'forwardProxy', renderMarkdown(results));
    process.stdout.write(renderMarkdown(results) + '\n');
    if (slow.bytes !== total) throw new Error(`the slow reader got ${slow.bytes} of ${total} bytes`);
  } finally {
    clearInterval(sampler);
    child.kill('SIGTERM');
    origin.closeAllConnections();
    origin.close();
    raw.close();
  }
}

export function renderMarkdown(r: ForwardProxyResults): string {
  const within = r.slowReaderGrowthMiB < TARGET_GROWTH_MIB;
  return [
    '## Forward proxy: bulk bytes through `wsinspect proxy --forward`',
    '',
    `\`npm run bench:forward-proxy\`: ${r.totalMiB} MiB per transfer over loopback; the proxy in its own process (\`--trace none\`), its RSS read from /proc. ${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node}, commit ${r.machine.commit}; load average ${r.machine.loadAverage.start.toFixed(1)} → ${r.machine.loadAverage.end.toFixed(1)}.`,
    '',
    '| transfer | MB/s |',
    '| --- | ---: |',
    `| GET, direct (reference) | ${r.mbPerSecond.getDirect} |`,
    `| GET through the proxy (body streamed) | ${r.mbPerSecond.getProxied} |`,
    `| CONNECT tunnel (passed through; the client speaks first) | ${r.mbPerSecond.tunnel} |`,
    '',
    `Slow reader (reads nothing for ${r.pauseMs} ms while the origin writes ${r.totalMiB} MiB): the proxy's RSS grew by ${r.slowReaderGrowthMiB} MiB over its ${r.baselineRssMiB} MiB baseline (target: under ${TARGET_GROWTH_MIB} MiB: ${within ? 'met' : 'NOT met'}); the reader then got all ${r.slowReaderBytes} bytes. Peak RSS over the whole run: ${r.peakRssMiB} MiB.`,
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench:forward-proxy failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
