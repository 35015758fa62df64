/**
 * The runners over real sockets with peers that misbehave, and the report (JSON wire log and
 * readable text).
 */
import { describe, expect, it } from 'vitest';
import { echoComponent, manualComponent } from '../../../src/core/apps/index.ts';
import { Opcode } from '../../../src/core/constants.ts';
import { formatReport, reportToJson, runClientBattery, runServerBattery, summaryLine } from '../../../src/core/conformance/index.ts';
import { WebSocketServer, type ServerComponent } from '../../../src/core/net/server.ts';

async function withServer<T>(component: ServerComponent, fn: (url: string) => Promise<T>): Promise<T> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component });
  const { url } = await server.listen();
  try {
    return await fn(url);
  } finally {
    await server.close();
  }
}

describe('server runner with misbehaving servers', () => {
  it('fails every echo case against a server that never echoes, and says why', async () => {
    const report = await withServer(manualComponent, (url) => runServerBattery(url, { cases: ['1.1.1', '2.1', '3.1.1'], stepTimeoutMs: 300 }));
    expect(report.cases.map((c) => [c.id, c.outcome])).toEqual([['1.1.1', 'fail'], ['2.1', 'pass'], ['3.1.1', 'pass']]);
    expect(report.cases[0]!.reason).toMatch(/expected an echo of the text message \(0 bytes\); nothing came within 30\d ms/);
    expect(summaryLine(report)).toBe('2 passed, 1 failed, 0 non-strict');
  });

  it('fails a server that changes what it echoes', async () => {
    const upper: ServerComponent = {
      name: 'upper',
      onMessage(conn, m) {
        if (m.text !== undefined) conn.sendText(m.text.toUpperCase());
        else conn.sendBinary(m.data);
      },
    };
    const report = await withServer(upper, (url) => runServerBattery(url, { cases: ['1.1.2', '1.2.2'] }));
    expect(report.cases.map((c) => c.outcome)).toEqual(['fail', 'pass']);
    expect(report.cases[0]!.reason).toMatch(/echo of the text message differs: byte 0 is 0x41 instead of 0x61/);
  });

  it('fails every case when nothing listens', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent });
    const { url } = await server.listen();
    await server.close();
    const report = await runServerBattery(url, { cases: ['1.1.1'], connectTimeoutMs: 2000 });
    expect(report.cases[0]).toMatchObject({ outcome: 'fail' });
    expect(report.cases[0]!.reason).toMatch(/cannot connect: .*ECONNREFUSED/);
  });

  it('fails a server that is not a WebSocket server', async () => {
    const { createServer } = await import('node:http');
    const http = createServer((req, res) => res.end('plain http'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    const { port } = http.address() as { port: number };
    try {
      const report = await runServerBattery(`ws://127.0.0.1:${port}/`, { cases: ['2.1'] });
      expect(report.cases[0]!.outcome).toBe('fail');
      expect(report.cases[0]!.reason).toMatch(/opening handshake refused or invalid: The server answered 200/);
    } finally {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
});

describe('client runner with misbehaving clients', () => {
  it('fails when the client never connects', async () => {
    const report = await runClientBattery(() => {}, { cases: ['2.1'], connectTimeoutMs: 300 });
    expect(report.cases[0]).toMatchObject({ outcome: 'fail' });
    expect(report.cases[0]!.reason).toMatch(/did not connect within 300 ms/);
  });

  it('reports how a launched command ended when it does not connect', async () => {
    const report = await runClientBattery(`"${process.execPath}" -e "console.error('no luck with {url}'); process.exit(3)"`, { cases: ['2.1'], connectTimeoutMs: 3000 });
    expect(report.cases[0]!.outcome).toBe('fail');
    expect(report.cases[0]!.reason).toMatch(/exited with code 3; its last output: no luck with ws:\/\/127\.0\.0\.1:\d+\//);
  });

  it('rejects a launch command without {url}', async () => {
    await expect(runClientBattery('node client.js', {})).rejects.toThrow(/\{url\}/);
  });
});

describe('report', () => {
  it('keeps a wire log of trace events that survives JSON', async () => {
    const report = await withServer(echoComponent, (url) => runServerBattery(url, { cases: ['2.2', '9.1.3'] }));
    const ping = report.cases[0]!;
    const types = ping.wire.map((e) => e.type);
    for (const t of ['connection-opened', 'http-head', 'handshake', 'bytes', 'frame', 'note']) expect(types).toContain(t);
    const frames = ping.wire.flatMap((e) => (e.type === 'frame' ? [e] : []));
    expect(frames.map((f) => [f.direction, f.frame.opcode])).toEqual([['out', Opcode.Ping], ['in', Opcode.Pong], ['out', Opcode.Close], ['in', Opcode.Close]]);
    expect(frames[0]!.frame.masked).toBe(true);
    expect(frames[1]!.frame.masked).toBe(false);
    const sent = ping.wire.flatMap((e) => (e.type === 'bytes' && e.direction === 'out' ? [e.bytes.length] : []));
    expect(sent.reduce((a, b) => a + b, 0)).toBeGreaterThan(100); // handshake + frames
    for (let i = 1; i < ping.wire.length; i++) expect(ping.wire[i]!.time).toBeGreaterThanOrEqual(ping.wire[i - 1]!.time);
    // a 1 MiB case is logged within the budget, the rest counted
    const big = report.cases[1]!;
    const kept = big.wire.reduce((n, e) => n + (e.type === 'bytes' ? e.bytes.length : 0), 0);
    const omitted = big.wire.reduce((n, e) => n + (e.type === 'bytes' ? e.omittedBytes ?? 0 : 0), 0);
    expect(kept).toBeLessThanOrEqual(256 * 1024);
    expect(kept + omitted).toBeGreaterThan(2 * 1024 * 1024);

    const json = JSON.parse(reportToJson(report)) as { totals: unknown; cases: Array<{ id: string; outcome: string; wire: Array<{ type: string; bytes?: { hex: string } }> }> };
    expect(json.totals).toEqual({ total: 2, passed: 2, failed: 0, nonStrict: 0 });
    const firstBytes = json.cases[0]!.wire.find((e) => e.type === 'bytes')!;
    expect(firstBytes.bytes!.hex).toMatch(/^474554202f20/); // "GET / "
  });

  it('reads grouped by category and ends with the summary line', async () => {
    const report = await withServer(manualComponent, (url) => runServerBattery(url, { cases: ['2.1', '5.3', '7.3.2'], stepTimeoutMs: 300, wireLog: false }));
    const text = formatReport(report);
    const lines = text.split('\n');
    expect(lines.at(-1)).toBe('2 passed, 1 failed, 0 non-strict');
    expect(text).toMatch(/^2 Ping and pong: 1 passed$/m);
    expect(text).toMatch(/^5 Fragmentation: 0 passed, 1 failed$/m);
    expect(text).toMatch(/✗ 5\.3 .*\n\s+fail: expected an echo/);
    expect(formatReport(report, { showPassing: false })).not.toMatch(/✓/);
    expect(report.cases.every((c) => c.wire.length === 0)).toBe(true);
  });
});
