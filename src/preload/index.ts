/**
 * Preload: the inspector API, one function per IPC channel, exposed through contextBridge.
 * Never exposes ipcRenderer itself, and never forwards the IPC event object.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { channels, type PreloadApi } from '../shared/inspector-api.ts';

const api: PreloadApi = {
  getStatus: () => ipcRenderer.invoke(channels.getStatus),
  startServer: (request) => ipcRenderer.invoke(channels.startServer, request),
  stopServer: () => ipcRenderer.invoke(channels.stopServer),
  setServerApp: (app) => ipcRenderer.invoke(channels.setServerApp, app),
  connectClient: (request) => ipcRenderer.invoke(channels.connectClient, request),
  send: (request) => ipcRenderer.invoke(channels.send, request),
  dropConnection: (id) => ipcRenderer.invoke(channels.dropConnection, id),
  removeClosed: (ids) => ipcRenderer.invoke(channels.removeClosed, ids),
  startProxy: (request) => ipcRenderer.invoke(channels.startProxy, request),
  stopProxy: () => ipcRenderer.invoke(channels.stopProxy),
  proxyCa: (action) => ipcRenderer.invoke(channels.proxyCa, action),
  setStepMode: (id, on) => ipcRenderer.invoke(channels.setStepMode, { connectionId: id, on }),
  setBreakpoints: (id, breakpoints) => ipcRenderer.invoke(channels.setBreakpoints, { connectionId: id, breakpoints }),
  stepControl: (id, action) => ipcRenderer.invoke(channels.stepControl, { connectionId: id, action }),
  editHeld: (id, holdId, frame) => ipcRenderer.invoke(channels.editHeld, { connectionId: id, holdId, frame }),
  dropHeld: (id, holdId) => ipcRenderer.invoke(channels.dropHeld, { connectionId: id, holdId }),
  setPolicy: (id, policy) => ipcRenderer.invoke(channels.setPolicy, { connectionId: id, policy }),
  craft: (request) => ipcRenderer.invoke(channels.craft, request),
  listPresets: () => ipcRenderer.invoke(channels.listPresets),
  firePreset: (id, presetId) => ipcRenderer.invoke(channels.firePreset, { connectionId: id, presetId }),
  compressPayload: (connectionId, payloadHex) => ipcRenderer.invoke(channels.compressPayload, { connectionId, payloadHex }),
  byteStepStart: (hex, receiverRole, options) => ipcRenderer.invoke(channels.byteStepStart, { hex, receiverRole, ...options }),
  byteStepFeed: (sessionId, count) => ipcRenderer.invoke(channels.byteStepFeed, { sessionId, count }),
  frameBytes: (connectionId, frameId) => ipcRenderer.invoke(channels.frameBytes, { connectionId, frameId }),
  searchCutFrames: (connectionId, search) => ipcRenderer.invoke(channels.searchCutFrames, { connectionId, search }),
  rawCarriers: (request) => ipcRenderer.invoke(channels.rawCarriers, request),
  runConformance: (request) => ipcRenderer.invoke(channels.runConformance, request),
  conformanceWire: (caseId) => ipcRenderer.invoke(channels.conformanceWire, caseId),
  // The main process asks the person for the file (its own dialog); the page's argument is not used.
  openRecording: () => ipcRenderer.invoke(channels.openRecording),
  closeRecording: (prefix) => ipcRenderer.invoke(channels.closeRecording, prefix),
  startRecording: (cap) => ipcRenderer.invoke(channels.startRecording, cap),
  stopRecording: () => ipcRenderer.invoke(channels.stopRecording),
  saveSession: () => ipcRenderer.invoke(channels.saveSession),
  exportSession: (request) => ipcRenderer.invoke(channels.exportSession, request),
  getSavedWork: () => ipcRenderer.invoke(channels.getSavedWork),
  setSavedWork: (work) => ipcRenderer.invoke(channels.setSavedWork, work),
  importSavedWork: (text) => ipcRenderer.invoke(channels.importSavedWork, text),
  runSequence: (connectionId, steps) => ipcRenderer.invoke(channels.runSequence, { connectionId, steps }),
  // Which batches the page applied: the main process checks the sender and the numbers (window-stream.ts).
  ackEvents: (arg) => ipcRenderer.invoke(channels.ackEvents, arg),
  // Batches stay bytes here; the page decodes them (PreloadApi says why).
  onBatchJson: (listener) => {
    const handler = (_event: unknown, batch: Uint8Array) => listener(batch);
    ipcRenderer.on(channels.batch, handler);
    return () => {
      ipcRenderer.removeListener(channels.batch, handler);
    };
  },
};

contextBridge.exposeInMainWorld('inspector', api);
