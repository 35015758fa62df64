/**
 * The process-level last resort (issue 10 §2): an exception nobody caught or a rejection nobody
 * handled is one plain line on stderr and a trace 'error' the page shows, and the process keeps
 * serving. Tested on a stand-in emitter and in a real child process.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVICE_TRACE_ID, type TraceEvent } from '../../src/core/trace.ts';
import { InspectorService } from '../../src/service/inspector-service.ts';
import { installLastResort, oneLine } from '../../src/service/last-resort.ts';
import { eventually } from '../core/net/helpers.ts';
import { eventsOf } from '../../src/shared/trace-batch.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const services: InspectorService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.dispose();
});

describe('installLastResort', () => {
  it('reports an uncaught exception and an unhandled rejection in one line each and as a service trace error', async () => {
    const service = new InspectorService({ batchIntervalMs: 5 });
    services.push(service);
    const events: TraceEvent[] = [];
    service.onBatch((b) => events.push(...eventsOf(b)));
    const target = new EventEmitter();
    const lines: string[] = [];
    const uninstall = installLastResort(service, { label: 'main', write: (l) => lines.push(l), target: target as unknown as NodeJS.Process });
    target.emit('uncaughtException', new TypeError('boom\n    at somewhere (file.ts:1:1)'));
    target.emit('unhandledRejection', 'a plain string');
    expect(lines).toEqual([
      'main: uncaught exception, kept running: TypeError: boom at somewhere (file.ts:1:1)\n',
      'main: unhandled rejection, kept running: a plain string\n',
    ]);
    await eventually(() => events.filter((e) => e.connectionId === SERVICE_TRACE_ID).length === 2, 2000, 'the two errors in a batch');
    const errors = events.filter((e) => e.connectionId === SERVICE_TRACE_ID);
    expect(errors.map((e) => e.type)).toEqual(['error', 'error']);
    expect(errors.map((e) => (e as { message: string }).message)).toEqual([
      'internal error (uncaught exception): TypeError: boom at somewhere (file.ts:1:1)',
      'internal error (unhandled rejection): a plain string',
    ]);
    uninstall();
    expect(target.listenerCount('uncaughtException')).toBe(0);
    expect(target.listenerCount('unhandledRejection')).toBe(0);
  });

  it('a report that fails does not throw from the handler', () => {
    const service = new InspectorService();
    services.push(service);
    const target = new EventEmitter();
    installLastResort(service, { label: 'x', write: () => { throw new Error('stderr is gone'); }, target: target as unknown as NodeJS.Process });
    expect(() => target.emit('uncaughtException', new Error('boom'))).not.toThrow();
  });

  it('oneLine keeps the name and message, drops line breaks, and bounds the length', () => {
    expect(oneLine(new RangeError('a\r\nb'))).toBe('RangeError: a b');
    expect(oneLine(42)).toBe('42');
    expect(oneLine(new Error('x'.repeat(2000))).length).toBe(500);
  });

  it('in a real process: the process survives both, prints no stack, and keeps running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsi-last-resort-'));
    try {
      const script = join(dir, 'probe.ts');
      writeFileSync(script, [
        `import { InspectorService } from ${JSON.stringify(pathToFileURL(join(root, 'src/service/inspector-service.ts')).href)};`,
        `import { installLastResort } from ${JSON.stringify(pathToFileURL(join(root, 'src/service/last-resort.ts')).href)};`,
        'const service = new InspectorService();',
        "installLastResort(service, { label: 'probe' });",
        "setTimeout(() => { throw new Error('thrown from a timer'); }, 10);",
        "setTimeout(() => { void Promise.reject(new Error('rejected, never handled')); }, 20);",
        "setTimeout(() => { console.log('still alive'); void service.dispose().then(() => process.exit(0)); }, 200);",
      ].join('\n'));
      const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      expect(err.trim().split('\n')).toEqual([
        'probe: uncaught exception, kept running: Error: thrown from a timer',
        'probe: unhandled rejection, kept running: Error: rejected, never handled',
      ]);
      expect(err).not.toMatch(/^\s+at /m);
      expect(out.trim()).toBe('still alive');
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
