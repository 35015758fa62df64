/**
 * IPC glue: one handler per channel, each checking who is calling and what it sent, then
 * calling the inspector service. Batches are pushed to the window's renderer.
 */
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { channels } from '../shared/inspector-api.ts';
import { encodeWireJson } from '../shared/wire-json.ts';
import { createHandlers, type ApiFunction } from '../service/handlers.ts';
import type { InspectorService } from '../service/inspector-service.ts';
import { isTrustedIpcSender } from './trust.ts';

/** The URL of the frame that sent `event`, or '' (a frame already gone throws when read). */
function senderUrl(event: IpcMainInvokeEvent): string {
  try {
    return event.senderFrame?.url ?? '';
  } catch {
    return '';
  }
}

/**
 * Only our own renderer may call in (Electron security guide: validate the sender): the main
 * frame of our window, showing exactly our page (trust.ts decides).
 */
function isTrustedSender(event: IpcMainInvokeEvent, rendererUrl: string, window: WebContents | null): boolean {
  try {
    return isTrustedIpcSender(
      { frame: event.senderFrame, webContentsId: event.sender.id },
      { webContentsId: window && !window.isDestroyed() ? window.id : null, rendererUrl },
    );
  } catch {
    return false;
  }
}

export function registerIpc(service: InspectorService, rendererUrl: string, target: () => WebContents | null): () => void {
  const handle = (channel: string, fn: (arg: unknown) => unknown) => {
    ipcMain.handle(channel, async (event, arg: unknown) => {
      if (!isTrustedSender(event, rendererUrl, target())) throw new Error(`refused ${channel} from ${senderUrl(event) || 'unknown'}`);
      try {
        return await fn(arg);
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
    });
  };
  const handlers = createHandlers(service);
  for (const [name, fn] of Object.entries(handlers) as Array<[ApiFunction, (arg: unknown) => unknown]>) handle(channels[name], fn);
  const unsubscribe = service.onBatch((batch) => {
    const contents = target();
    // As wire JSON, not structured clone: see PreloadApi.
    if (contents && !contents.isDestroyed()) contents.send(channels.batch, encodeWireJson(batch));
  });
  return () => {
    unsubscribe();
    for (const channel of Object.values(channels)) ipcMain.removeHandler(channel);
  };
}
