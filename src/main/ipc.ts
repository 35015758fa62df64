/**
 * IPC glue: one handler per channel, each checking who is calling and what it sent, then
 * calling the inspector service. Batches are pushed to the window's renderer, numbered, and the
 * window acknowledges them (window-stream.ts).
 */
import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { basename } from 'node:path';
import { channels } from '../shared/inspector-api.ts';
import { createHandlers, type ApiFunction } from '../service/handlers.ts';
import type { InspectorService } from '../service/inspector-service.ts';
import { RECORDING_PACE } from '../service/page-streams.ts';
import { isTrustedIpcSender } from './trust.ts';
import { WindowStream } from './window-stream.ts';

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
  const handle = (channel: string, fn: (arg: unknown, senderId: number) => unknown) => {
    ipcMain.handle(channel, async (event, arg: unknown) => {
      if (!isTrustedSender(event, rendererUrl, target())) throw new Error(`refused ${channel} from ${senderUrl(event) || 'unknown'}`);
      try {
        return await fn(arg, event.sender.id);
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
    });
  };
  const handlers = createHandlers(service);
  // A recording's path comes from the person's choice in a main-process dialog, never from the page.
  handlers.openRecording = async () => {
    const contents = target();
    const owner = contents ? BrowserWindow.fromWebContents(contents) : null;
    const options = { title: 'Open a recording', properties: ['openFile' as const], filters: [{ name: 'Sessions and captures', extensions: ['wsi', 'json', 'har', 'pcap', 'pcapng', 'cap'] }, { name: 'All files', extensions: ['*'] }] };
    const picked = owner ? await dialog.showOpenDialog(owner, options) : await dialog.showOpenDialog(options);
    const path = picked.filePaths[0];
    if (picked.canceled || !path) return { ok: false, error: 'Cancelled.' };
    return service.openRecording(path, basename(path));
  };
  for (const [name, fn] of Object.entries(handlers) as Array<[ApiFunction, (arg: unknown) => unknown]>) handle(channels[name], fn);
  // Batches go to the window numbered; it acknowledges what it applied, and falls behind a flood
  // folded, not frozen; a recording being opened is paced to it (window-stream.ts, as the web host).
  const stream = new WindowStream(service, target, channels.batch);
  handle(channels.ackEvents, (arg, senderId) => stream.ack(senderId, arg));
  service.setRecordingPace(() => stream.untilCaughtUp(RECORDING_PACE.lagMs, RECORDING_PACE.stalledMs));
  return () => {
    service.setRecordingPace(null);
    stream.close();
    for (const channel of Object.values(channels)) ipcMain.removeHandler(channel);
  };
}
