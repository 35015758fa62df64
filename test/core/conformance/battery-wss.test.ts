/**
 * The conformance battery against a wss:// server (RFC 6455 §3, §10.6): every server case over
 * TLS against our own server with the generated certificate, each case's wire log saying so;
 * the compressed ones (12, 13) with permessage-deflate agreed inside TLS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { echoComponent } from '../../../src/core/apps/index.ts';
import { runServerBattery, selectCases } from '../../../src/core/conformance/index.ts';
import { localCertificate } from '../../../src/core/net/certificates.ts';
import { WebSocketServer } from '../../../src/core/net/server.ts';
import { problems } from './echo-first.ts';

describe('conformance battery over wss://', () => {
  it('our wss:// server passes every server case strictly, inside TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-battery-wss-'));
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, component: echoComponent, tls: await localCertificate(dir) });
    const { url } = await server.listen();
    try {
      expect(url).toMatch(/^wss:/);
      const report = await runServerBattery(url, { concurrency: 4, timeScale: 2 });
      expect(problems(report)).toEqual([]); // every case passes strictly, Autobahn's "echo first" ones included
      expect(report.totals.passed).toBe(selectCases('server').length);
      const wire = report.cases[0]!.wire;
      expect(wire.some((e) => e.type === 'note' && e.text.includes('over TLS (wss://)'))).toBe(true);
      expect(wire.some((e) => e.type === 'http-head' && e.direction === 'out')).toBe(true);
      // The compressed cases (12, 13) run inside TLS too, permessage-deflate agreed, echoes compressed.
      const compressed = report.cases.filter((c) => c.category === 12 || c.category === 13);
      expect(compressed.length).toBeGreaterThanOrEqual(50);
      for (const c of compressed) {
        expect(c.wire.some((e) => e.type === 'note' && e.text.includes('over TLS (wss://)')), c.id).toBe(true);
        expect(c.wire.some((e) => e.type === 'note' && e.text.startsWith('permessage-deflate agreed')), c.id).toBe(true);
        expect(c.wire.some((e) => e.type === 'frame' && e.direction === 'in' && e.frame.rsv1), c.id).toBe(true);
      }
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
