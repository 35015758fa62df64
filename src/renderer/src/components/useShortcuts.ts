/**
 * Window-wide keys (issue 14, keyboard): `/` focuses the payload search (from any view: it
 * opens the frame list), F10 steps the oldest held frame and F8 continues, as in the
 * debugger's Step and Continue buttons (and as browsers' developer tools use those keys).
 */
import { useEffect } from 'react';
import { api } from '../bridge.ts';
import { selectLiveConnection, useInspector } from '../store/store.ts';
import { SEARCH_INPUT_ID } from './FrameList.tsx';

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && target.closest('input, textarea, select, [contenteditable="true"]') !== null;
}

export function useShortcuts(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const state = useInspector.getState();
      if (e.key === '/' && !isTyping(e.target)) {
        if (state.selectedConnectionId === null) return;
        e.preventDefault();
        if (state.view !== 'frames') state.setView('frames');
        // After the frame list renders (it may just have been opened), unless the person has gone
        // on to type in another field before that frame came (a fast typist, or a late frame).
        const focused = document.activeElement;
        requestAnimationFrame(() => {
          if (document.activeElement !== focused && isTyping(document.activeElement)) return;
          document.getElementById(SEARCH_INPUT_ID)?.focus();
        });
        return;
      }
      if (e.key === 'F10' || e.key === 'F8') {
        const connection = selectLiveConnection(state);
        const gate = connection?.gate;
        if (!connection || !gate) return;
        e.preventDefault();
        if (e.key === 'F10' && gate.held.length === 0) return;
        void api.stepControl(connection.id, e.key === 'F10' ? 'step' : 'continue').then((result) => {
          if (!result.ok) state.setNotice({ kind: 'error', text: result.error });
        });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
