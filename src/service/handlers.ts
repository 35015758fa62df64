/**
 * One handler per API function: validate what the renderer sent, then call the service.
 * Electron's IPC (src/main/ipc.ts) and the web host (src/host/web-host.ts) both serve this
 * same table, so the two transports cannot drift apart. No electron import.
 */
import { channels } from '../shared/inspector-api.ts';
import { MAX_SEARCH_LENGTH } from '../shared/payload-search.ts';
import { parseSavedWork } from '../shared/saved-work.ts';
import {
  validateApp, validateBreakpoints, validateByteStepFeed, validateByteStepStart, validateCompressPayload, validateConnect, validateCraft, validateFirePreset,
  validateConformance, validateExport, validateRunSequence, validateHeld, validatePolicy, validateRecordCap, validateSend, validateStartServer, validateStepControl, validateStepMode,
} from './validation.ts';
import { validateProxyCaAction, validateStartProxy } from './proxy-validation.ts';
import { validateRawCarriers } from './raw-chunks.ts';
import type { InspectorService } from './inspector-service.ts';

/** Not here: the batch push and its acknowledgements, which belong to each transport's streams (page-streams.ts). */
export type ApiFunction = Exclude<keyof typeof channels, 'batch' | 'ackEvents'>;
export type Handlers = Record<ApiFunction, (arg: unknown) => unknown>;

export function createHandlers(service: InspectorService): Handlers {
  return {
    getStatus: () => service.getStatus(),
    startServer: (arg) => service.startServer(validateStartServer(arg ?? {})),
    stopServer: () => service.stopServer(),
    setServerApp: (arg) => service.setServerApp(validateApp(arg)),
    connectClient: (arg) => service.connectClient(validateConnect(arg)),
    send: (arg) => service.send(validateSend(arg)),
    startProxy: (arg) => service.startProxy(validateStartProxy(arg)),
    stopProxy: () => service.stopProxy(),
    proxyCa: (arg) => service.proxyCa(validateProxyCaAction(arg)),
    dropConnection: (arg) => {
      if (typeof arg !== 'string') throw new Error('dropConnection expects a connection id');
      return service.dropConnection(arg);
    },
    removeClosed: (arg) => {
      if (arg === undefined || arg === null) return service.removeClosed();
      if (!Array.isArray(arg) || arg.length > 10_000 || arg.some((id) => typeof id !== 'string' || id.length > 200)) throw new Error('removeClosed expects a list of connection ids, or nothing for every closed one');
      return service.removeClosed(arg as string[]);
    },
    setStepMode: (arg) => {
      const { connectionId, on } = validateStepMode(arg);
      return service.setStepMode(connectionId, on);
    },
    setBreakpoints: (arg) => {
      const { connectionId, breakpoints } = validateBreakpoints(arg);
      return service.setBreakpoints(connectionId, breakpoints);
    },
    stepControl: (arg) => {
      const { connectionId, action } = validateStepControl(arg);
      return service.stepControl(connectionId, action);
    },
    editHeld: (arg) => {
      const { connectionId, holdId, frame } = validateHeld(arg, true);
      return service.editHeld(connectionId, holdId, frame!);
    },
    dropHeld: (arg) => {
      const { connectionId, holdId } = validateHeld(arg, false);
      return service.dropHeld(connectionId, holdId);
    },
    setPolicy: (arg) => {
      const { connectionId, policy } = validatePolicy(arg);
      return service.setPolicy(connectionId, policy);
    },
    craft: (arg) => service.craft(validateCraft(arg)),
    compressPayload: (arg) => {
      const { connectionId, payloadHex } = validateCompressPayload(arg);
      return service.compressPayload(connectionId, payloadHex);
    },
    listPresets: () => service.listPresets(),
    firePreset: (arg) => {
      const { connectionId, presetId } = validateFirePreset(arg);
      return service.firePreset(connectionId, presetId);
    },
    byteStepStart: (arg) => {
      const { hex, receiverRole, options } = validateByteStepStart(arg);
      return service.byteStepStart(hex, receiverRole, options);
    },
    frameBytes: (arg) => {
      if (typeof arg !== 'object' || arg === null) throw new Error('frameBytes expects { connectionId, frameId }');
      const { connectionId, frameId } = arg as Record<string, unknown>;
      if (typeof connectionId !== 'string' || !Number.isInteger(frameId)) throw new Error('frameBytes expects { connectionId, frameId }');
      return service.frameBytes(connectionId, frameId as number);
    },
    searchCutFrames: (arg) => {
      if (typeof arg !== 'object' || arg === null) throw new Error('searchCutFrames expects { connectionId, search }');
      const { connectionId, search } = arg as Record<string, unknown>;
      if (typeof connectionId !== 'string' || typeof search !== 'string' || search.length > MAX_SEARCH_LENGTH) {
        throw new Error(`searchCutFrames expects { connectionId, search } with a search of at most ${MAX_SEARCH_LENGTH} characters`);
      }
      return service.searchCutFrames(connectionId, search);
    },
    rawCarriers: (arg) => service.rawCarriers(validateRawCarriers(arg)),
    runConformance: (arg) => service.runConformance(validateConformance(arg)),
    conformanceWire: (arg) => {
      if (typeof arg !== 'string') throw new Error('conformanceWire expects a case id');
      return service.conformanceWire(arg);
    },
    openRecording: (arg) => {
      if (typeof arg !== 'string' || arg.length === 0 || arg.length > 4096 || arg.includes('\0')) throw new Error('openRecording expects a file path');
      return service.openRecording(arg);
    },
    closeRecording: (arg) => {
      if (typeof arg !== 'string' || arg.length > 64) throw new Error('closeRecording expects a recording prefix such as "rec1:"');
      return service.closeRecording(arg);
    },
    startRecording: (arg) => service.startRecording(validateRecordCap(arg)),
    stopRecording: () => service.stopRecording(),
    saveSession: () => service.saveSession(),
    exportSession: (arg) => service.exportSession(validateExport(arg)),
    getSavedWork: () => service.getSavedWork(),
    setSavedWork: (arg) => {
      const parsed = parseSavedWork(arg);
      if (typeof parsed === 'string') throw new Error(`setSavedWork expects a saved-work document: ${parsed}`);
      return service.setSavedWork(arg);
    },
    importSavedWork: (arg) => {
      if (typeof arg !== 'string') throw new Error('importSavedWork expects the file\'s text');
      return service.importSavedWork(arg);
    },
    runSequence: (arg) => {
      const { connectionId, steps } = validateRunSequence(arg);
      return service.runSequence(connectionId, steps);
    },
    byteStepFeed: (arg) => {
      const { sessionId, count } = validateByteStepFeed(arg);
      return service.byteStepFeed(sessionId, count);
    },
  };
}
