/**
 * The compressed cases (12, 13) against python-websockets (Debian's python3-websockets, run by
 * /usr/bin/python3), compression on as by default: its server (test/fixtures/python/deflate_peer.py)
 * and its client, launched per case as a harness would (test/fixtures/python/echo_client.py).
 *
 * python-websockets 10.x accepts an 8-bit window in either direction (RFC 7692 allows 8..15) but
 * then asks zlib for it, and zlib refuses a raw DEFLATE window of 8 bits ("Invalid initialization
 * option"; its manual says 8 is not supported): the cases that agree 8 bits, 13.3, 13.5 and 13.7
 * (Autobahn's too), fail, as they fail under Autobahn. We run an agreed 8 as 9, which stays within
 * the agreement (src/core/extensions/permessage-deflate.ts). Everything else passes strictly.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClientBattery, runServerBattery, selectCases, summaryLine, type ConformanceReport } from '../../../src/core/conformance/index.ts';
import { FIXTURES, PYTHON, requirePythonWebsockets, startPythonServer, type PythonServer } from '../net/python-peer.ts';

const compressedIds = selectCases('server', ['12.', '13.']).map((c) => c.id);
/** The cases that agree an 8-bit window. */
const eightBits = compressedIds.filter((id) => /^13\.[357]\./.test(id));

let version = '';
let server: PythonServer;

beforeAll(async () => {
  version = requirePythonWebsockets();
  server = await startPythonServer([join(FIXTURES, 'deflate_peer.py'), 'server', 'websockets']);
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

function print(who: string, report: ConformanceReport): void {
  const lines = report.cases.filter((c) => c.outcome !== 'pass').map((c) => `  ${c.id} ${c.outcome}: ${c.reason}`);
  console.log(`python-websockets ${version} ${who}: ${summaryLine(report)} in ${report.durationMs} ms\n${lines.join('\n')}`);
}

describe('compressed cases against python-websockets', () => {
  it('its server: every case passes strictly but those that agree an 8-bit window, which it accepts and then cannot run', async () => {
    const report = await runServerBattery(`ws://127.0.0.1:${server.port}/`, { cases: ['12.', '13.'], concurrency: 4, timeScale: 2 });
    print('server', report);
    expect(report.cases.filter((c) => c.outcome !== 'pass').map((c) => c.id)).toEqual(eightBits);
    expect(report.totals.failed).toBe(eightBits.length);
    // 13.3: refused while making its compressor (500); 13.5 and 13.7: 1011 at its first compressed message.
    for (const c of report.cases.filter((x) => x.outcome === 'fail')) expect(c.reason, c.id).toMatch(c.id.startsWith('13.3.') ? /500 Internal Server Error/ : /sent Close 1011/);
    // Where it agreed, its echoes came compressed.
    const passed = report.cases.find((c) => c.id === '13.2.9')!;
    const agreed = passed.wire.find((e) => e.type === 'note' && e.text.startsWith('permessage-deflate agreed'));
    expect(agreed?.type === 'note' && agreed.text).toMatch(/server_no_context_takeover/);
    expect(passed.wire.some((e) => e.type === 'frame' && e.direction === 'in' && e.frame.rsv1)).toBe(true);
  }, 120_000);

  it('its client, launched per case: the same, for the same reason', async () => {
    const report = await runClientBattery(`${PYTHON} ${join(FIXTURES, 'echo_client.py')} {url} --max-size 67108864`, { cases: ['12.', '13.'], concurrency: 2, timeScale: 2 });
    print('client', report);
    expect(report.cases.filter((c) => c.outcome !== 'pass').map((c) => c.id)).toEqual(eightBits);
    for (const c of report.cases.filter((x) => x.outcome !== 'pass')) {
      expect(c.outcome, c.id).toBe('fail');
      expect(c.wire.some((e) => e.type === 'note' && /^permessage-deflate agreed: .*client_max_window_bits=8/.test(e.text)), c.id).toBe(true);
    }
  }, 180_000);
});
