import { useEffect } from 'react';
import { api } from './bridge.ts';
import { ByteStepper } from './components/ByteStepper.tsx';
import { Composer } from './components/Composer.tsx';
import { Crafter } from './components/Crafter.tsx';
import { Debugger } from './components/Debugger.tsx';
import { Faults } from './components/Faults.tsx';
import { ConnectionsPanel } from './components/ConnectionsPanel.tsx';
import { EmptyState } from './components/EmptyState.tsx';
import { FrameAnatomy } from './components/FrameAnatomy.tsx';
import { FrameList } from './components/FrameList.tsx';
import { HandshakeView } from './components/HandshakeView.tsx';
import { ServerBar } from './components/ServerBar.tsx';
import { connectBatches, useInspector, type View } from './store/store.ts';

const tabs: Array<{ view: View; label: string; title: string }> = [
  { view: 'frames', label: 'Frames', title: 'Every frame, both directions, bit by bit' },
  { view: 'handshake', label: 'Handshake', title: 'The opening handshake, header by header (§4)' },
  { view: 'debugger', label: 'Debugger', title: 'Step mode, held frames, breakpoints, the violation policy' },
  { view: 'stepper', label: 'Byte stepper', title: 'Feed bytes to the parser one at a time' },
  { view: 'crafter', label: 'Crafter', title: 'Build any frame, valid or not, and send it in chosen TCP writes' },
  { view: 'faults', label: 'Faults', title: 'Fire named protocol violations at the peer and compare its reaction with the RFC' },
];

export function App() {
  const view = useInspector((s) => s.view);
  const setView = useInspector((s) => s.setView);
  const selectedConnectionId = useInspector((s) => s.selectedConnectionId);
  const notice = useInspector((s) => s.notice);
  const selectedFrameKey = useInspector((s) => s.selectedFrameKey);
  const setNotice = useInspector((s) => s.setNotice);
  const held = useInspector((s) => s.status?.connections.find((c) => c.id === s.selectedConnectionId)?.gate?.held.length ?? 0);

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
                {tabs.map((t) => (
                  <button key={t.view} role="tab" aria-selected={view === t.view} className={view === t.view ? 'tab active' : 'tab'} onClick={() => setView(t.view)} title={t.title}>
                    {t.label}
                    {t.view === 'debugger' && held > 0 && <span className="tab-badge" data-testid="held-badge">{held} held</span>}
                  </button>
                ))}
              </nav>
              {view === 'frames' ? (
                <div className="frames-view">
                  <FrameList />
                  {/* keyed by frame: a new selection starts at the top */}
                  <FrameAnatomy key={selectedFrameKey ?? 'none'} />
                </div>
              ) : view === 'handshake' ? (
                <HandshakeView />
              ) : (
                <div className="tool-view" key={`${view}:${selectedConnectionId}`}>
                  {view === 'debugger' ? <Debugger /> : view === 'stepper' ? <ByteStepper /> : view === 'crafter' ? <Crafter /> : <Faults />}
                </div>
              )}
            </>
          )}
        </main>
        <Composer />
      </div>
    </div>
  );
}
