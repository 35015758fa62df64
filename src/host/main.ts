/**
 * `npm run web`: run the inspector in a browser instead of Electron.
 *   WEB_PORT (default 5173) for the page, WS_PORT (default 9001) for the embedded server,
 *   WSI_FULL_FRAMES_MIB (default 256) for the full bytes of large frames kept (service-env.ts),
 *   WEB_STREAM_QUEUE_MIB (default 64) queued for one event-stream subscriber before its batches are dropped.
 * SIGUSR2 prints the process's memory figures (bench:event-stream reads them).
 */
import { fileURLToPath } from 'node:url';
import { InspectorService } from '../service/inspector-service.ts';
import { installLastResort } from '../service/last-resort.ts';
import { serviceOptionsFromEnv } from '../service/service-env.ts';
import { startWebHost } from './web-host.ts';

const rendererDir = fileURLToPath(new URL('../../out/renderer', import.meta.url));
const port = Number(process.env['WEB_PORT'] ?? 5173);
try {
  const service = new InspectorService(serviceOptionsFromEnv(process.env));
  // The last resort: an error nobody caught is one line on stderr and an error in the page, and
  // the host keeps serving (it used to exit, e.g. on a header with CR/LF; issue 10 §2).
  installLastResort(service, { label: 'web host' });
  const queueMiB = Number(process.env['WEB_STREAM_QUEUE_MIB']);
  const host = await startWebHost({ rendererDir, port, service, ...(queueMiB > 0 ? { streamQueueLimitBytes: queueMiB * 2 ** 20 } : {}) });
  const started = await host.service.startServer({ port: Number(process.env['WS_PORT'] ?? 9001) });
  console.log(`WebSocket Inspector: open ${host.url} in a browser`);
  console.log(started.ok ? `embedded WebSocket server listening on ${started.url}` : `embedded server not started: ${started.error}`);
  // Diagnostics: `kill -USR2 PID` prints the host's memory (after a full GC when run with --expose-gc).
  process.on('SIGUSR2', () => {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    console.log(`memory: rss=${m.rss} heapUsed=${m.heapUsed} external=${m.external} arrayBuffers=${m.arrayBuffers}`);
  });
  const stop = () => void host.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  console.error(`web host: ${(error as Error).message}`);
  process.exit(1);
}
