/**
 * Which InspectorApi the renderer talks to: Electron's preload exposes window.inspector;
 * in a plain browser (the web host) the HTTP + server-sent-events bridge stands in for it.
 */
import type { InspectorApi, PreloadApi, ServiceBatch } from '../../shared/inspector-api.ts';
import { decodeWireJson } from '../../shared/wire-json.ts';

declare global {
  interface Window {
    inspector?: PreloadApi;
  }
}

async function call<T>(name: string, arg?: unknown): Promise<T> {
  const response = await fetch(`/api/${name}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: arg === undefined ? '' : JSON.stringify(arg),
  });
  return decodeWireJson<T>(await response.text());
}

export function createWebBridge(): InspectorApi {
  return {
    getStatus: () => call('getStatus'),
    startServer: (request) => call('startServer', request),
    stopServer: () => call('stopServer'),
    setServerApp: (app) => call('setServerApp', app),
    connectClient: (request) => call('connectClient', request),
    send: (request) => call('send', request),
    dropConnection: (id) => call('dropConnection', id),
    setStepMode: (id, on) => call('setStepMode', { connectionId: id, on }),
    setBreakpoints: (id, breakpoints) => call('setBreakpoints', { connectionId: id, breakpoints }),
    stepControl: (id, action) => call('stepControl', { connectionId: id, action }),
    editHeld: (id, holdId, frame) => call('editHeld', { connectionId: id, holdId, frame }),
    dropHeld: (id, holdId) => call('dropHeld', { connectionId: id, holdId }),
    setPolicy: (id, policy) => call('setPolicy', { connectionId: id, policy }),
    craft: (request) => call('craft', request),
    listPresets: () => call('listPresets'),
    firePreset: (id, presetId) => call('firePreset', { connectionId: id, presetId }),
    byteStepStart: (hex, receiverRole) => call('byteStepStart', { hex, receiverRole }),
    byteStepFeed: (sessionId, count) => call('byteStepFeed', { sessionId, count }),
    frameBytes: (connectionId, frameId) => call('frameBytes', { connectionId, frameId }),
    runConformance: (request) => call('runConformance', request),
    conformanceWire: (caseId) => call('conformanceWire', caseId),
    onBatch: (listener) => {
      const source = new EventSource('/api/events');
      source.onmessage = (message: { data: string }) => listener(decodeWireJson<ServiceBatch>(message.data));
      return () => source.close();
    },
  };
}

/** Electron's preload API, with its batches (wire JSON text) decoded here in the page. */
export function fromPreload(preload: PreloadApi): InspectorApi {
  const { onBatchJson, ...calls } = preload;
  return { ...calls, onBatch: (listener) => onBatchJson((json) => listener(decodeWireJson<ServiceBatch>(json))) };
}

const preload = (globalThis as { inspector?: PreloadApi }).inspector;
export const api: InspectorApi = preload ? fromPreload(preload) : createWebBridge();
