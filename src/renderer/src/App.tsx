import { useEffect } from 'react';
import { api } from './bridge.ts';
import { Composer } from './components/Composer.tsx';
import { ConnectionsPanel } from './components/ConnectionsPanel.tsx';
import { EmptyState } from './components/EmptyState.tsx';
import { FrameAnatomy } from './components/FrameAnatomy.tsx';
import { FrameList } from './components/FrameList.tsx';
import { HandshakeView } from './components/HandshakeView.tsx';
import { ServerBar } from './components/ServerBar.tsx';
import { connectBatches, useInspector } from './store/store.ts';

export function App() {
  const view = useInspector((s) => s.view);
  const setView = useInspector((s) => s.setView);
  const selectedConnectionId = useInspector((s) => s.selectedConnectionId);
  const notice = useInspector((s) => s.notice);
  const selectedFrameKey = useInspector((s) => s.selectedFrameKey);
  const setNotice = useInspector((s) => s.setNotice);

  useEffect(() => {
    const unsubscribe = connectBatches((listener) => api.onBatch(listener));
    void api.getStatus().then((status) => useInspector.getState().applyBatch({ events: [], status }));
    return unsubscribe;
  }, []);

  return (
    <div className="app">
      <ServerBar />
      {notice && (
        <div className={`notice notice-${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
          <span>{notice.text}</span>
          <button className="link" onClick={() => setNotice(null)} aria-label="Dismiss">✕</button>
        </div>
      )}
      <div className="workspace">
        <ConnectionsPanel />
        <main className="main">
          {selectedConnectionId === null ? (
            <EmptyState />
          ) : (
            <>
              <nav className="tabs" role="tablist">
                <button role="tab" aria-selected={view === 'frames'} className={view === 'frames' ? 'tab active' : 'tab'} onClick={() => setView('frames')}>Frames</button>
                <button role="tab" aria-selected={view === 'handshake'} className={view === 'handshake' ? 'tab active' : 'tab'} onClick={() => setView('handshake')}>Handshake</button>
              </nav>
              {view === 'frames' ? (
                <div className="frames-view">
                  <FrameList />
                  {/* keyed by frame: a new selection starts at the top */}
                  <FrameAnatomy key={selectedFrameKey ?? 'none'} />
                </div>
              ) : (
                <HandshakeView />
              )}
            </>
          )}
        </main>
        <Composer />
      </div>
    </div>
  );
}
