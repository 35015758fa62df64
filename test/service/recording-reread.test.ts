import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rereadConnections } from '../../src/service/recording-reread.ts';

const dir = mkdtempSync(join(tmpdir(), 'reread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A WebSocket entry as Chrome's DevTools writes one (import-har.test.ts has the full shape). */
function entry(data: string) {
  return {
    startedDateTime: '2026-11-28T10:00:00.000Z', time: 1, _resourceType: 'websocket',
    request: { method: 'GET', url: 'ws://127.0.0.1:9001/', httpVersion: 'HTTP/1.1', headers: [{ name: 'Upgrade', value: 'websocket' }, { name: 'Sec-WebSocket-Key', value: 'dGhlIHNhbXBsZSBub25jZQ==' }] },
    response: { status: 101, statusText: 'Switching Protocols', httpVersion: 'HTTP/1.1', headers: [{ name: 'Upgrade', value: 'websocket' }, { name: 'Sec-WebSocket-Accept', value: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' }] },
    _webSocketMessages: [{ type: 'send', time: 1795860000.25, opcode: 1, data }],
  };
}

function file(name: string, text: string, padTo?: number) {
  const path = join(dir, name);
  writeFileSync(path, text);
  if (padTo) truncateSync(path, padTo);
  const stat = statSync(path);
  return { path, kind: 'har' as const, size: stat.size, mtimeMs: stat.mtimeMs };
}

describe('rereadConnections (Export of an opened recording), hostile HAR/JSON', () => {
  it('reads a HAR file again streaming: the connections asked for come back even past the 256 MiB a whole read allows, and reading stops once they are found', async () => {
    // The open streams files of any size (an upload may be 2 GiB); its Export must too.
    const har = `{"log":{"version":"1.2","entries":[${JSON.stringify(entry('first'))},${JSON.stringify(entry('second'))},`;
    const big = file('big.har', har, 300 * 1024 * 1024);
    const again = await rereadConnections(big, new Set(['har2']));
    expect(Array.isArray(again)).toBe(true);
    expect((again as Array<{ id: string }>).map((c) => c.id)).toEqual(['har2']);
  });

  it('never parses the whole document at once: an entry of a million tiny values after the wanted one is not built', async () => {
    const bomb = `{"log":{"version":"1.2","entries":[${JSON.stringify(entry('kept'))},{"x":[${'{},'.repeat(1_100_000)}0]}]}}`;
    const f = file('bomb.har', bomb);
    const kept = await rereadConnections(f, new Set(['har1']));
    expect((kept as Array<{ id: string }>).map((c) => c.id)).toEqual(['har1']);
    // Asked for one that is not there: the bound on an element stops reading, with no throw.
    const missing = await rereadConnections(f, new Set(['har3']));
    expect(typeof missing === 'string' ? missing : (missing as unknown[]).length).toSatisfy((v: unknown) => v === 0 || (typeof v === 'string' && /objects and arrays/.test(v)));
  });
});
