/**
 * The page's side of sessions (issue 13): a recording file's upload to the web host (with its
 * progress), the download of what the service hands back (Save, Export), and which connection ids
 * are opened recordings ("recN:…", src/service/session-work.ts), which are read-only.
 */
import { create } from 'zustand';
import { RECORDING_UPLOAD_PATH, type RecordingInfo, type Result } from '../../../shared/inspector-api.ts';
import { api, TOKEN_HEADER, webBridgeToken } from '../bridge.ts';
import { useInspector } from './store.ts';

/** An id of a connection from an opened recording file. */
export function isOpenedRecordingId(id: string | null | undefined): boolean {
  return !!id && /^rec\d+:/.test(id);
}

export interface OpenProgress {
  name: string;
  /** 'upload': bytes sent so far of total; 'reading': the service reads the file. */
  phase: 'upload' | 'reading';
  loaded: number;
  total: number;
}

export type OpenAnswer = Result<{ recording: RecordingInfo; warning: string | null }>;

interface SessionUiState {
  progress: OpenProgress | null;
  setProgress: (progress: OpenProgress | null) => void;
}

export const useSessionUi = create<SessionUiState>((set) => ({
  progress: null,
  setProgress: (progress) => set({ progress }),
}));

/**
 * Sends the chosen file's bytes to the web host (XMLHttpRequest: fetch reports no upload
 * progress), as raw bytes with this run's token. The file is streamed from disk by the browser.
 */
export function uploadRecording(file: File, onProgress: (p: OpenProgress) => void): Promise<OpenAnswer> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    // The frame ring's size: the service loads no more frames of the recording than the list keeps.
    xhr.open('POST', `${RECORDING_UPLOAD_PATH}?name=${encodeURIComponent(file.name.slice(0, 200))}&maxFrames=${useInspector.getState().maxFrames}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader(TOKEN_HEADER, webBridgeToken);
    xhr.upload.onprogress = (e) => onProgress({ name: file.name, phase: 'upload', loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    xhr.upload.onload = () => onProgress({ name: file.name, phase: 'reading', loaded: file.size, total: file.size });
    xhr.onload = () => {
      try {
        const answer = JSON.parse(xhr.responseText) as OpenAnswer;
        resolve(answer);
      } catch {
        resolve({ ok: false, error: `The inspector refused the file (${xhr.status}): ${xhr.responseText.slice(0, 300)}` });
      }
    };
    xhr.onerror = () => resolve({ ok: false, error: `${file.name} could not be sent to the inspector (the connection broke).` });
    xhr.send(file);
  });
}

/** Opens a recording: in Electron the main process asks for the file; in a browser the chosen file is uploaded. */
export async function openRecordingFile(file: File | null): Promise<OpenAnswer> {
  const { setProgress } = useSessionUi.getState();
  try {
    if (!webBridgeToken) return await api.openRecording('');
    if (!file) return { ok: false, error: 'Choose a file.' };
    setProgress({ name: file.name, phase: 'upload', loaded: 0, total: file.size });
    return await uploadRecording(file, setProgress);
  } finally {
    setProgress(null);
  }
}

/** Hands bytes to the browser as a download named `name`. */
export function downloadBytes(bytes: Uint8Array, name: string, type = 'application/octet-stream'): void {
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** "12.3 MB" */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
