/**
 * Preload: exposes the inspector API to the renderer through contextBridge.
 */
import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('inspectorInfo', { platform: process.platform });
