import { useEffect } from 'react';
import { api, setConfirmHandler } from './bridge.ts';
import { ByteStepper } from './components/ByteStepper.tsx';
import { Composer } from './components/Composer.tsx';
import { askPerson, ConfirmDialog } from './components/ConfirmDialog.tsx';
import { Conformance, RecordingBanner } from './components/Conformance.tsx';
import { Crafter } from './components/Crafter.tsx';
import { Debugger } from './components/Debugger.tsx';
import { Faults } from './components/Faults.tsx';
import { Learn } from './components/Learn.tsx';
import { Pipeline } from './components/Pipeline.tsx';
import { ConnectionsPanel } from './components/ConnectionsPanel.tsx';
import { EmptyState } from './components/EmptyState.tsx';
import { FrameAnatomy } from './components/FrameAnatomy.tsx';
import { FrameList } from './components/FrameList.tsx';
import { HandshakeView } from './components/HandshakeView.tsx';
import { FramePairing } from './components/FramePairing.tsx';
import { Ladder } from './components/Ladder.tsx';
import { ProxyLegBanner } from './components/ProxyLegBanner.tsx';
import { TimelineSplit, WorkspacePanes } from './components/Panes.tsx';
import { useShortcuts } from './components/useShortcuts.ts';
import { ServerBar } from './components/ServerBar.tsx';
import { SessionBar } from './components/SessionBar.tsx';
import { isOpenedRecordingId } from './store/recording.ts';
import { feedLearn, useLearn } from './store/learn.ts';
import { connectBatches, isRecordingId, useInspector, type View } from './store/store.ts';

const tabs: Array<{ view: Exclude<View, 'conformance' | 'learn'>; label: string; title: string }> = [
  { view: 'frames', label: 'Frames', title: 'Every frame, both directions, bit by bit' },
  { view: 'pipeline', label: 'Pipeline', title: 'The selected frame\'s message from payload to wire: deflate, fragments, headers, masking, bytes' },
  { view: 'handshake', label: 'Handshake', title: 'The opening handshake, header by header (§4)' },
  { view: 'ladder', label: 'Ladder', title: 'The conversation as a sequence diagram: client, proxy and server as lanes; handshake, frames, pings and the closing handshake as arrows with times' },
  { view: 'debugger', label: 'Debugger', title: 'Step mode, held frames, breakpoints, the violation policy' },
  { view: 'stepper', label: 'Byte stepper', title: 'Feed bytes to the parser one at a time' },
  { view: 'crafter', label: 'Crafter', title: 'Build any frame, valid or not, and send it in chosen TCP writes' },
  { view: 'faults', label: 'Faults', title: 'Fire named protocol violations at the peer and compare its reaction with the RFC' },
];

/** A recorded wire log can be read, not driven: no debugger, crafter or faults on it. */
const recordingViews: ReadonlySet<View> = new Set(['frames', 'pipeline', 'handshake', 'stepper', 'ladder']);

export function App() {
  const view = useInspector((s) => s.view);
  const setView = useInspector((s) => s.setView);
  const selectedConnectionId = useInspector((s) => s.selectedConnectionId);
  const notice = useInspector((s) => s.notice);
  const selectedFrameKey = useInspector((s) => s.selectedFrameKey);
  const setNotice = useInspector((s) => s.setNotice);
  const held = useInspector((s) => s.status?.connections.find((c) => c.id === s.selectedConnectionId)?.gate?.held.length ?? 0);
  // A conformance wire log or an opened recording file: read, not driven.
  const recording = isRecordingId(selectedConnectionId) || isOpenedRecordingId(selectedConnectionId);
  const running = useInspector((s) => s.conformance?.running ?? false);
  const connectionTabs = recording ? tabs.filter((t) => recordingViews.has(t.view)) : tabs;
  // A recording selected while a live-only tool was open shows its frames instead.
  const shown: View = view === 'conformance' || view === 'learn' || !recording || recordingViews.has(view) ? view : 'frames';

  useShortcuts();
  useEffect(() => {
    setConfirmHandler(askPerson);
    useLearn.getState().load();
    // Every event also goes to the open lesson's detector (a no-op with none open).
    const unsubscribe = connectBatches((listener) => api.onBatch((batch) => {
      listener(batch);
      feedLearn(batch.events);
    }));
    void api.getStatus().then((status) => useInspector.getState().applyBatch({ events: [], status }));
    return unsubscribe;
  }, []);

  return (
    <div className="app">
      <ServerBar />
      <SessionBar />
      {notice && (
        <div className={`notice notice-${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
          <span>{notice.text}</span>
          <button className="link" onClick={() => setNotice(null)} aria-label="Dismiss">✕</button>
        </div>
      )}
      {/* No composer beside the battery, nor beside a recorded wire log: nothing can be sent there. */}
      <WorkspacePanes
        sidebar={<ConnectionsPanel />}
        composer={shown !== 'conformance' && !recording ? <Composer /> : null}
        main={(toggles) => (
        <main className="main">
          <nav className="tabs" role="tablist">
            {selectedConnectionId !== null && connectionTabs.map((t) => (
              <button key={t.view} role="tab" aria-selected={shown === t.view} className={shown === t.view ? 'tab active' : 'tab'} onClick={() => setView(t.view)} title={t.title}>
                {t.label}
                {t.view === 'debugger' && held > 0 && <span className="tab-badge" data-testid="held-badge">{held} held</span>}
              </button>
            ))}
            <button
              role="tab"
              aria-selected={shown === 'conformance'}
              className={`tab tab-conformance ${shown === 'conformance' ? 'active' : ''}`}
              onClick={() => setView('conformance')}
              title="Run the Autobahn-style conformance battery against a server or a client (needs no connection)"
              data-testid="conformance-tab"
            >
              Conformance
              {running && <span className="tab-badge running">running</span>}
            </button>
            <button
              role="tab"
              aria-selected={shown === 'learn'}
              className={`tab tab-learn ${shown === 'learn' ? 'active' : ''}`}
              onClick={() => setView('learn')}
              title="Guided lessons on live traffic: do each step against the embedded server, see it explained with your own bytes (needs no connection)"
              data-testid="learn-tab"
            >
              Learn
            </button>
            <span className="pane-toggles">{toggles}</span>
          </nav>
          {shown === 'learn' ? (
            <div className="tool-view">
              <Learn />
            </div>
          ) : shown === 'conformance' ? (
            <div className="tool-view">
              <Conformance />
            </div>
          ) : selectedConnectionId === null ? (
            <EmptyState />
          ) : (
            <>
              {recording && <RecordingBanner />}
              {(shown === 'debugger' || shown === 'crafter' || shown === 'faults') && <ProxyLegBanner />}
              {shown === 'frames' ? (
                <TimelineSplit
                  list={<FrameList />}
                  // keyed by frame: a new selection starts at the top
                  detail={<div className="detail-with-pairing"><FramePairing /><FrameAnatomy key={selectedFrameKey ?? 'none'} /></div>}
                />
              ) : shown === 'handshake' ? (
                <HandshakeView />
              ) : shown === 'pipeline' ? (
                <div className="tool-view"><Pipeline /></div>
              ) : shown === 'ladder' ? (
                <div className="tool-view"><Ladder /></div>
              ) : (
                <div className="tool-view" key={`${shown}:${selectedConnectionId}`}>
                  {shown === 'debugger' ? <Debugger /> : shown === 'stepper' ? <ByteStepper /> : shown === 'crafter' ? <Crafter /> : <Faults />}
                </div>
              )}
            </>
          )}
        </main>
        )}
      />
      <ConfirmDialog />
    </div>
  );
}
