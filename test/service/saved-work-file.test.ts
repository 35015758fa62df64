import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/core/trace.ts';
import { createHandlers } from '../../src/service/handlers.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { savedWorkPath } from '../../src/service/saved-work-file.ts';
import { SAVED_WORK_FORMAT } from '../../src/shared/saved-work.ts';
import { eventually } from '../core/net/helpers.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsi-saved-work-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const work = {
  format: SAVED_WORK_FORMAT, version: 1,
  connections: [{ name: 'echo', url: 'ws://127.0.0.1:9001/', subprotocols: [], headers: [], ca: [], insecure: false }],
  sequences: [{ name: 'greet', steps: [{ kind: 'text', text: 'one' }, { kind: 'wait', ms: 150 }, { kind: 'text', text: 'two' }] }],
};

describe('saved work in the service', () => {
  it('kept in the config directory: saved, read back by a new service, imported (merged), a bad file refused in one sentence', async () => {
    const configDir = join(dir, 'config');
    const service = new InspectorService({ configDir });
    expect(service.getSavedWork()).toMatchObject({ connections: [], sequences: [] });
    expect(service.setSavedWork(work)).toMatchObject({ ok: true });
    expect(JSON.parse(readFileSync(savedWorkPath(configDir), 'utf8'))).toMatchObject({ format: SAVED_WORK_FORMAT, sequences: [{ name: 'greet' }] });
    const again = new InspectorService({ configDir });
    expect(again.getSavedWork()).toEqual(service.getSavedWork());
    const imported = again.importSavedWork(JSON.stringify({ format: SAVED_WORK_FORMAT, connections: [{ name: 'other', url: 'wss://example.test/' }, { name: 'bad' }] }));
    expect(imported).toMatchObject({ ok: true, skipped: 1 });
    expect(again.getSavedWork().connections.map((c) => c.name)).toEqual(['echo', 'other']);
    expect(again.importSavedWork('{not json')).toEqual({ ok: false, error: expect.stringMatching(/^That file is not JSON/) });
    expect(again.importSavedWork('x'.repeat(2 * 1024 * 1024))).toEqual({ ok: false, error: 'That file is larger than 1048576 bytes.' });
    expect(again.setSavedWork({ ...work, connections: [{ name: 'x', url: 'file:///etc/passwd' }] })).toMatchObject({ ok: false, error: expect.stringMatching(/not valid; nothing was saved/) });
    // A file made unreadable by hand is empty work, not a crash.
    writeFileSync(savedWorkPath(configDir), '\u0000garbage');
    expect(again.getSavedWork().connections).toEqual([]);
    await service.dispose();
    await again.dispose();
  });

  it('a saved sequence runs on a live connection: in order, with its wait; a recording or a bad step refused', async () => {
    const service = new InspectorService({ configDir: join(dir, 'run'), batchIntervalMs: 5 });
    const events: TraceEvent[] = [];
    service.onBatch((b) => events.push(...eventsOf(b)));
    try {
      const server = await service.startServer({ host: '127.0.0.1', port: 0, app: 'echo' });
      if (!server.ok) throw new Error(server.error);
      const client = await service.connectClient({ url: server.url });
      if (!client.ok) throw new Error(client.error);
      await eventually(() => service.getStatus().connections.some((c) => c.id === client.id && c.state === 'OPEN'), 5000, 'the client open');
      const handlers = createHandlers(service);
      expect(() => handlers.runSequence({ connectionId: client.id, steps: [{ kind: 'exec' }] })).toThrow(/steps are not valid/);
      expect(() => handlers.runSequence({ connectionId: client.id, steps: Array.from({ length: 6 }, () => ({ kind: 'wait', ms: 60_000 })) })).toThrow(/waits add up/);
      const result = await handlers.runSequence({ connectionId: client.id, steps: work.sequences[0]!.steps });
      expect(result).toEqual({ ok: true, sent: 2 });
      await eventually(() => events.filter((e) => e.type === 'message' && e.direction === 'in' && e.connectionId !== client.id).length === 2, 5000, 'both at the server');
      const atServer = events.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message' && e.direction === 'in' && e.connectionId !== client.id);
      expect(atServer.map((e) => e.text)).toEqual(['one', 'two']);
      expect(atServer[1]!.time - atServer[0]!.time).toBeGreaterThanOrEqual(140);
      expect(await service.runSequence('rec1:server1:1', [{ kind: 'text', text: 'x' }])).toMatchObject({ ok: false, error: expect.stringMatching(/not a live connection/) });
    } finally {
      await service.dispose();
    }
  });
});
