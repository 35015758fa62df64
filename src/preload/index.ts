/**
 * Preload: the inspector API, one function per IPC channel, exposed through contextBridge.
 * Never exposes ipcRenderer itself, and never forwards the IPC event object.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { channels, type InspectorApi, type ServiceBatch } from '../shared/inspector-api.ts';

const api: InspectorApi = {
  getStatus: () => ipcRenderer.invoke(channels.getStatus),
  startServer: (request) => ipcRenderer.invoke(channels.startServer, request),
  stopServer: () => ipcRenderer.invoke(channels.stopServer),
  setServerApp: (app) => ipcRenderer.invoke(channels.setServerApp, app),
  connectClient: (request) => ipcRenderer.invoke(channels.connectClient, request),
  send: (request) => ipcRenderer.invoke(channels.send, request),
  dropConnection: (id) => ipcRenderer.invoke(channels.dropConnection, id),
  onBatch: (listener) => {
    const handler = (_event: unknown, batch: ServiceBatch) => listener(batch);
    ipcRenderer.on(channels.batch, handler);
    return () => {
      ipcRenderer.removeListener(channels.batch, handler);
    };
  },
};

contextBridge.exposeInMainWorld('inspector', api);
