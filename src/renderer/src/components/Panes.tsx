/**
 * The window's resizable, collapsible panes (issue 14, layout): connections | tool | composer
 * side by side, and the frame list above the frame anatomy. react-resizable-panels does the
 * dragging, keyboard resizing (arrow keys on a focused separator) and collapsing; each group's
 * layout is remembered in localStorage under its id.
 */
import { useState, type ReactNode } from 'react';
import { Group, Panel, Separator, useDefaultLayout, usePanelRef, type PanelImperativeHandle } from 'react-resizable-panels';

const storage = (() => {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // storage unavailable (a sandboxed page): layouts last for this session
  }
})();

function layoutStore(id: string) {
  return { id: `websocket-inspector.layout.${id}`, ...(storage ? { storage } : {}) };
}

/** A button that collapses or re-opens a collapsible pane. */
function PaneToggle({ pane, collapsed, label, side }: { pane: React.RefObject<PanelImperativeHandle | null>; collapsed: boolean; label: string; side: 'left' | 'right' }) {
  const arrow = (side === 'left') === collapsed ? '»' : '«';
  return (
    <button
      className="pane-toggle"
      data-testid={`toggle-${label}`}
      aria-expanded={!collapsed}
      title={`${collapsed ? 'Show' : 'Hide'} the ${label} (or drag the divider)`}
      onClick={() => (collapsed ? pane.current?.expand() : pane.current?.collapse())}
    >
      {side === 'left' ? `${arrow} ${label}` : `${label} ${arrow}`}
    </button>
  );
}

/** A side pane: keeps its width in pixels as the window resizes, and collapses to nothing. */
function sidePanel(id: string, ref: React.RefObject<PanelImperativeHandle | null>, defaultSize: number, minSize: number, setCollapsed: (collapsed: boolean) => void, children: ReactNode) {
  return (
    <Panel
      id={id} panelRef={ref} className="pane" defaultSize={defaultSize} minSize={minSize} maxSize="45%" collapsible collapsedSize={0}
      groupResizeBehavior="preserve-pixel-size" style={{ overflow: 'hidden' }}
      onResize={(size) => setCollapsed(size.inPixels < 1)}
    >
      {children}
    </Panel>
  );
}

/**
 * Connections on the left, the tool in the middle, the composer on the right (absent where
 * nothing can be sent). Both sides collapse to nothing; a toggle in the middle's top row
 * brings them back.
 */
export function WorkspacePanes({ sidebar, main, composer }: { sidebar: ReactNode; main: (toggles: ReactNode) => ReactNode; composer: ReactNode | null }) {
  const panelIds = composer ? ['sidebar', 'main', 'composer'] : ['sidebar', 'main'];
  const { defaultLayout, onLayoutChanged } = useDefaultLayout({ ...layoutStore('workspace'), panelIds });
  const sidebarRef = usePanelRef();
  const composerRef = usePanelRef();
  const [sidebarCollapsed, setSidebarCollapsed] = useState(false);
  const [composerCollapsed, setComposerCollapsed] = useState(false);
  const toggles = (
    <>
      <PaneToggle pane={sidebarRef} collapsed={sidebarCollapsed} label="connections" side="left" />
      {composer && <PaneToggle pane={composerRef} collapsed={composerCollapsed} label="composer" side="right" />}
    </>
  );
  return (
    <Group className="workspace" orientation="horizontal" defaultLayout={defaultLayout} onLayoutChanged={onLayoutChanged} id="workspace">
      {sidePanel('sidebar', sidebarRef, 236, 190, setSidebarCollapsed, sidebar)}
      <Separator className="resize-handle" aria-label="Resize the connections pane" />
      <Panel id="main" className="pane" minSize={380} style={{ overflow: 'hidden' }}>
        {main(toggles)}
      </Panel>
      {composer && (
        <>
          <Separator className="resize-handle" aria-label="Resize the composer" />
          {sidePanel('composer', composerRef, 256, 220, setComposerCollapsed, composer)}
        </>
      )}
    </Group>
  );
}

/** The frame (or message) list above the anatomy of the selected one; either can be dragged smaller. */
export function TimelineSplit({ list, detail }: { list: ReactNode; detail: ReactNode }) {
  const { defaultLayout, onLayoutChanged } = useDefaultLayout(layoutStore('timeline'));
  return (
    <Group className="frames-view" orientation="vertical" defaultLayout={defaultLayout} onLayoutChanged={onLayoutChanged} id="timeline-split">
      <Panel id="list" className="pane" defaultSize="60%" minSize={130} style={{ overflow: 'hidden' }}>
        {list}
      </Panel>
      <Separator className="resize-handle horizontal" aria-label="Resize the list and the anatomy" />
      <Panel id="detail" className="pane" minSize={60} collapsible collapsedSize={0} style={{ overflow: 'hidden' }}>
        {detail}
      </Panel>
    </Group>
  );
}
